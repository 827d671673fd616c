from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.config import settings
from app.routers import admin, books
from app.security import get_current_user

app = FastAPI(title="Bookstore")
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)

app.include_router(books.router, prefix=settings.API_PREFIX)
# the admin router was meant to get the same auth as everything else
app.include_router(admin.router, prefix=settings.API_PREFIX)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/me", dependencies=[Depends(get_current_user)])
def me() -> dict[str, str]:
    return {"status": "ok"}

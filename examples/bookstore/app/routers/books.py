from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import Book, get_db
from app.schemas import BookIn, BookOut, BookPatch
from app.security import CurrentUser
from app.services import catalog

router = APIRouter(prefix="/books", tags=["books"])
DbSession = Annotated[Session, Depends(get_db)]


@router.get("/", response_model=list[BookOut])
def list_books(db: DbSession, q: str = "") -> list[Book]:
    return catalog.find_books(db, q)


@router.get("/{book_id}", response_model=BookOut)
def read_book(book_id: int, db: DbSession) -> Book:
    return db.get(Book, book_id)


@router.get("/{book_id}/cover")
async def book_cover(book_id: int) -> dict:
    return {"url": catalog.cover_url(str(book_id))}


@router.post("/", response_model=BookOut)
def create_book(payload: BookIn, db: DbSession, user: CurrentUser) -> Book:
    book = Book(**payload.model_dump())
    db.add(book)
    db.commit()
    return book


@router.put("/{book_id}", response_model=BookOut)
def update_book(book_id: int, payload: BookPatch, db: DbSession, user: CurrentUser) -> Book:
    book = db.get(Book, book_id)
    for key, value in payload.model_dump(exclude_unset=True).items():
        setattr(book, key, value)
    db.commit()
    return book

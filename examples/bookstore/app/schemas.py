from pydantic import BaseModel


class BookIn(BaseModel):
    title: str
    price: float
    author_id: int


class BookOut(BaseModel):
    id: int
    title: str
    price: float


class BookPatch(BaseModel):
    title: str | None = None
    price: float | None = None


class AuthorOut(BaseModel):
    id: int
    name: str
    email: str

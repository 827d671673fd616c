from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import Book, get_db

router = APIRouter(prefix="/admin", tags=["admin"])


@router.delete("/books/{book_id}", status_code=204)
def delete_book(book_id: int, db: Session = Depends(get_db)) -> None:
    db.delete(db.get(Book, book_id))
    db.commit()


@router.get("/get-authors")
def get_authors(db: Session = Depends(get_db)) -> list[dict]:
    return []

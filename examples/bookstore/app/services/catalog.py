import requests
from sqlalchemy.orm import Session

from app.db import Book


def find_books(db: Session, title: str) -> list[Book]:
    return db.query(Book).filter(Book.title.contains(title)).all()


def cover_url(isbn: str) -> str:
    response = requests.get(f"https://covers.example.org/api/{isbn}")
    return response.json()["url"]

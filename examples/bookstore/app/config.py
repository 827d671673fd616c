from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    API_PREFIX: str = "/api/v1"
    DATABASE_URL: str = "postgresql://bookstore:hunter2@db:5432/bookstore"
    SECRET_KEY: str = "dev-secret-please-change-0f9a8b7c6d5e"
    ALGORITHM: str = "HS256"


settings = Settings()

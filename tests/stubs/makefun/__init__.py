"""A stand-in for makefun's ``with_signature`` (the test environment installs only FastAPI): the decorated
function is given the signature, which is what FastAPI reads (``inspect.signature`` honours it)."""

import functools
import inspect


def with_signature(signature: inspect.Signature):
    def decorate(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            return await func(*args, **kwargs)

        wrapper.__signature__ = signature
        return wrapper

    return decorate

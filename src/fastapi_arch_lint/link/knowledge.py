"""What names of FastAPI, Starlette, Pydantic and SQLAlchemy mean to the linker.

Plain data and one function (``canonical``): the interpreter knows Python, not these libraries;
the other modules of ``link`` read these tables.
"""

from __future__ import annotations

import re

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")

# libraries whose callables, used as a dependency, authenticate nobody (their security schemes aside,
# which the linker knows by class): a session, a page, a rate limit, a cache. A dependency from any
# other code the analysis does not read (a shared auth package, a vendor SDK) may check credentials:
# its auth is unknown, not absent. The standard library is read as one of these too.
NON_AUTH_LIBRARIES = frozenset({
    "fastapi", "starlette", "pydantic", "pydantic_settings", "sqlalchemy", "sqlmodel", "fastapi_pagination",
    "fastapi_limiter", "slowapi", "fastapi_cache", "redis", "httpx", "requests", "aiohttp", "databases",
    "motor", "beanie", "odmantic", "tortoise", "asyncpg", "psycopg", "psycopg2", "celery", "structlog",
    "loguru", "typing_extensions", "anyio", "fastapi_utils", "fastapi_restful", "fastapi_filter",
})
# what such an unread dependency may be called and still be read as authenticating nobody: a session,
# a connection, the settings, a client, a page (``get_db``, ``get_async_session``, ``get_settings``)
NON_AUTH_DEPENDENCY = re.compile(
    r"(?:get_|make_|create_|new_|provide_)?(?:async_|sync_|db_|sql_)?"
    r"(?:db|database|session|db_session|sessions?|conn|connection|engine|uow|unit_of_work|redis|cache|settings|"
    r"config|configuration|logger|log|tracer|http_client|client|http|storage|s3|bucket|queue|broker|"
    r"pagination|paginator|page|page_params|params|pagination_params|limiter|rate_limiter|locale|language|"
    r"translator|request_id|background_tasks|repo|repository|service|manager)s?"
)


# canonical names for the many import paths of the same FastAPI/Starlette object
_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("fastapi.applications.", "fastapi."),
    ("fastapi.routing.", "fastapi."),
    ("fastapi.param_functions.", "fastapi."),
    ("fastapi.params.", "fastapi."),
    ("fastapi.security.oauth2.", "fastapi.security."),
    ("fastapi.security.http.", "fastapi.security."),
    ("fastapi.security.api_key.", "fastapi.security."),
    ("fastapi.security.open_id_connect_url.", "fastapi.security."),
    ("fastapi.security.base.", "fastapi.security."),
    ("fastapi.requests.", "fastapi."),
    ("fastapi.websockets.", "fastapi."),
    ("fastapi.background.", "fastapi."),
    ("fastapi.datastructures.", "fastapi."),
    ("fastapi.exceptions.", "fastapi."),
    ("starlette.requests.", "fastapi."),
    ("starlette.websockets.", "fastapi."),
    ("starlette.background.", "fastapi."),
    ("starlette.datastructures.", "fastapi."),
    ("starlette.responses.", "fastapi.responses."),
    ("starlette.status.", "fastapi.status."),
    ("starlette.staticfiles.", "fastapi.staticfiles."),
    ("starlette.exceptions.HTTPException", "fastapi.HTTPException"),
    ("starlette.middleware.cors.", "fastapi.middleware.cors."),
    ("starlette.middleware.trustedhost.", "fastapi.middleware.trustedhost."),
    ("starlette.middleware.gzip.", "fastapi.middleware.gzip."),
    ("starlette.middleware.httpsredirect.", "fastapi.middleware.httpsredirect."),
    ("starlette.applications.Starlette", "starlette.Starlette"),
    ("typing_extensions.", "typing."),
    ("sqlmodel.main.", "sqlmodel."),
    ("pydantic.main.", "pydantic."),
    ("pydantic.fields.", "pydantic."),
    ("pydantic_settings.main.", "pydantic_settings."),
    ("sqlalchemy.orm.decl_api.", "sqlalchemy.orm."),
    ("sqlalchemy.sql.schema.", "sqlalchemy."),
    ("sqlalchemy.schema.", "sqlalchemy."),
    ("fastapi_users.fastapi_users.", "fastapi_users."),
    ("fastapi_users.authentication.authenticator.", "fastapi_users.authentication."),
    ("fastapi_users.authentication.backend.", "fastapi_users.authentication."),
    ("fastapi_users.authentication.transport.bearer.", "fastapi_users.authentication."),
    ("fastapi_users.authentication.transport.cookie.", "fastapi_users.authentication."),
    ("fastapi_users.authentication.transport.", "fastapi_users.authentication."),
    ("makefun.main.", "makefun."),
)


SECURITY_SCHEMES = frozenset(
    "fastapi.security." + n
    for n in (
        "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "HTTPBearer", "HTTPBasic",
        "HTTPDigest", "HTTPBase", "APIKeyHeader", "APIKeyQuery", "APIKeyCookie", "OpenIdConnect",
        "SecurityBase", "APIKeyBase",
    )
)

# dependency callables whose signature is built at runtime: ``@with_signature(Signature([...]))``
# JWT decoders that verify the signature with the key they are given unless told not to (``options=
# {"verify_signature": False}``, PyJWT 1's ``verify=False``), and raise on a bad, expired or missing
# token: the key is the second argument or ``key=``
JWT_VERIFYING_DECODERS = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jose.jwt.decode", "authlib.jose.jwt.decode"})

# a JWT helper class taken as a dependency (``Authorize: AuthJWT = Depends()``): it authenticates nobody by
# itself; calling one of ``JWT_REQUIRED`` on it reads the token (header or cookie), verifies it with the
# configured key and raises on a missing or bad one: the check and the rejection
JWT_HELPER_CLASSES = frozenset({"fastapi_jwt_auth.AuthJWT", "fastapi_jwt_auth.auth_jwt.AuthJWT",
                                "async_fastapi_jwt_auth.AuthJWT", "async_fastapi_jwt_auth.auth_jwt.AuthJWT",
                                "fastapi_jwt_auth2.AuthJWT"})
JWT_REQUIRED = frozenset({"jwt_required", "fresh_jwt_required", "jwt_refresh_token_required"})

# calls that run the function they are given (first argument, the rest its arguments) in a worker thread
THREAD_RUNNERS = frozenset({"anyio.to_thread.run_sync", "asyncio.to_thread", "starlette.concurrency.run_in_threadpool",
                            "fastapi.concurrency.run_in_threadpool"})

WITH_SIGNATURE = frozenset({"makefun.with_signature"})
SIGNATURE_CLASSES = frozenset({"inspect.Signature"})
PARAMETER_CLASSES = frozenset({"inspect.Parameter"})
# ``@functools.wraps(x)``: ``inspect.signature`` (which FastAPI asks) follows ``__wrapped__`` to ``x``
WRAPS = frozenset({"functools.wraps"})

# fastapi-users: ``users = FastAPIUsers[User, ID](get_user_manager, [backend])`` and
# ``users.current_user(active=True)`` (or an ``Authenticator``'s): a dependency whose synthesised
# signature takes each backend's transport scheme (``auto_error=False``) and that answers 401/403
# itself unless ``optional=True``. Constructor -> (index, keyword) of its list of backends.
USERS_AUTHENTICATORS = {
    "fastapi_users.FastAPIUsers": (1, "auth_backends"),
    "fastapi_users.authentication.Authenticator": (0, "backends"),
}
USERS_CURRENT_USER = frozenset({"current_user", "current_user_token"})
USERS_BACKEND = "fastapi_users.authentication.AuthenticationBackend"
# transport class -> the security scheme it builds (what OpenAPI shows)
USERS_TRANSPORT_SCHEMES = {
    "fastapi_users.authentication.BearerTransport": "OAuth2PasswordBearer",
    "fastapi_users.authentication.CookieTransport": "APIKeyCookie",
}

APP_CLASSES = frozenset({"fastapi.FastAPI"})

ROUTER_CLASSES = frozenset({"fastapi.APIRouter"}) | frozenset(
    # library subclasses that only change how routes are built (the response model from the return annotation)
    f"{lib}.inferring_router.InferringRouter" for lib in ("fastapi_utils", "fastapi_restful"))
ROUTE_CLASSES = frozenset({"fastapi.APIRoute"})  # ``route_class=``: what each route registered on a router is
# class decorators that turn a class into a class-based view on a router (``@cbv(router)``): ``self`` becomes a
# dependency on the class, whose annotated attributes are its parameters; extra arguments are URLs at which
# methods named after HTTP methods are registered
CBV_DECORATORS = frozenset({"fastapi_utils.cbv.cbv", "fastapi_restful.cbv.cbv"})
# routers of libraries that register their own endpoints at ``path`` (their second argument or
# ``path=``, default ""): the (method, kind) pairs they serve there
LIBRARY_ROUTERS: dict[str, tuple[tuple[str, str], ...]] = {
    # strawberry: GraphiQL and queries over GET, queries and mutations over POST, subscriptions
    "strawberry.fastapi.GraphQLRouter": (("GET", "http"), ("POST", "http"), ("", "websocket")),
    "strawberry.fastapi.router.GraphQLRouter": (("GET", "http"), ("POST", "http"), ("", "websocket")),
}
# FastAPI's own routes, in the order ``FastAPI.setup`` adds them: (keyword, default, provider)
DOCS_URLS = (
    ("openapi_url", "/openapi.json", "fastapi.FastAPI.openapi"),
    ("docs_url", "/docs", "fastapi.openapi.docs.get_swagger_ui_html"),
    ("swagger_ui_oauth2_redirect_url", "/docs/oauth2-redirect", "fastapi.openapi.docs.get_swagger_ui_oauth2_redirect_html"),
    ("redoc_url", "/redoc", "fastapi.openapi.docs.get_redoc_html"),
)
# attributes of an instance of an external class that are the instance itself
SAME_OBJECT_ATTRS = frozenset({("fastapi.FastAPI", "router")})  # ``app.router``: the app itself

PARAM_MARKERS = {
    "fastapi.Depends": "dependency", "fastapi.Security": "security", "fastapi.Query": "query",
    "fastapi.Path": "path", "fastapi.Body": "body", "fastapi.Header": "header", "fastapi.Cookie": "cookie",
    "fastapi.Form": "form", "fastapi.File": "file",
}

SPECIAL_TYPES = {
    "fastapi.Request": "request", "fastapi.WebSocket": "websocket", "fastapi.HTTPConnection": "request",
    "starlette.requests.HTTPConnection": "request", "fastapi.Response": "response",
    "fastapi.responses.Response": "response", "fastapi.BackgroundTasks": "background",
    "fastapi.security.SecurityScopes": "security_scopes", "fastapi.UploadFile": "file",
}

MODEL_BASES = {
    "pydantic.BaseModel": "model", "pydantic_settings.BaseSettings": "settings",
    "pydantic.BaseSettings": "settings", "sqlmodel.SQLModel": "sqlmodel", "pydantic.RootModel": "model",
}

SQLA_BASES = frozenset({"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
                        "sqlalchemy.ext.declarative.declarative_base()", "sqlalchemy.orm.declarative_base()",
                        "sqlalchemy.orm.registry().generate_base()", "sqlalchemy.orm.as_declarative()"})

SCALAR_TYPES = frozenset(
    "builtins." + n for n in ("int", "str", "float", "bool", "bytes", "complex")
) | frozenset({"uuid.UUID", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
               "decimal.Decimal", "enum.Enum", "pydantic.EmailStr", "pydantic.HttpUrl", "pydantic.AnyUrl",
               "pydantic.SecretStr"})


# constrained-type calls and ``Annotated`` metadata whose keywords are field constraints
CON_TYPES = {"pydantic.constr": "builtins.str", "pydantic.conbytes": "builtins.bytes", "pydantic.conlist": "builtins.list",
              "pydantic.conset": "builtins.set", "pydantic.types.constr": "builtins.str", "pydantic.types.conlist": "builtins.list"}

CON_MARKERS = frozenset({"pydantic.StringConstraints", "pydantic.types.StringConstraints"})


# the prefixes grouped by their first dotted component (every prefix has a dot), in table order, so
# that ``canonical`` of a project name, the common case, is one dict lookup instead of 35 ``startswith``
_CANONICAL_BY_ROOT: dict[str, tuple[tuple[str, str], ...]] = {}

for _old, _new in _CANONICAL_PREFIXES:
    _root = _old.partition(".")[0]
    _CANONICAL_BY_ROOT[_root] = _CANONICAL_BY_ROOT.get(_root, ()) + ((_old, _new),)

del _old, _new, _root


def canonical(qualname: str) -> str:
    for old, new in _CANONICAL_BY_ROOT.get(qualname.partition(".")[0], ()):
        if qualname.startswith(old):
            return new + qualname[len(old):]
    return qualname


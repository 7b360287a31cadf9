"""OpenAPI 3.1 on Connexion 3: the spec checked as 3.1, data validated as JSON Schema 2020-12.

Connexion 3.3 checks every spec against the OpenAPI 3.0 schema (so it refuses ``openapi: 3.1.x``)
and validates data with Draft 4 rules, silently ignoring 2020-12 keywords such as numeric
``exclusiveMinimum`` and ``const`` (spec-first/connexion#1396). This module fixes both:

* the spec loader checks 3.1 documents with openapi-spec-validator's 3.1 rules (a valid one once:
  later processes find its verdict on disk, ``tasks_api.contract_verdicts``);
* parameters, request bodies and response bodies are validated by jsonschema-rs (Draft 2020-12,
  formats enforced), each schema compiled once and reused for every request.

Connexion internals touched, each guarded by ``tests/test_openapi31_support.py`` so that an
upgrade that moves them fails loudly instead of silently falling back to Draft 4:

1. ``connexion.spec.Specification._validate_spec`` is overridden on ``OpenAPISpecification``
   (the loader offers no hook); 3.0 documents still go to the original.
2. ``VALIDATOR_MAP`` entries are swapped through the public ``validator_map`` argument, but the
   methods overridden there are private: ``ParameterValidator.validate_parameter`` (static),
   ``JSONRequestBodyValidator._parse`` / ``._validate`` and
   ``JSONResponseBodyValidator._parse`` / ``._validate``.
   ``AbstractRequestBodyValidator.wrap_receive`` is replaced whole (with its helper
   ``_insert_messages``): Connexion takes a request without ``Content-Length`` for one without a
   body, so a ``Transfer-Encoding: chunked`` body was refused as missing; ours reads chunked bodies
   (up to the size limit), refuses a declared length over the limit before reading a byte, and
   turns a client that leaves mid-body into one info line.
3. Schemas handed to validators are the same dict objects on every request (Connexion resolves
   the spec once); the compile cache relies on that and a test counts compilations.
4. The ASGI scope's ``extensions["connexion_routing"]["operation_id"]`` (set by the routing
   middleware) and ``extensions["connexion_context"]["token_info"]`` (set by the security
   middleware), read by ``request_context`` for the outermost middleware's metrics and log.
5. Work Connexion repeats on every request although its result never changes, done once instead
   (``reuse_per_operation_work``; guard tests count ``inspect.signature`` calls and URI parsers
   built per request): ``AsyncOperation.fn`` (a property building a new decorator per call),
   ``BaseDecorator.decorate`` as ``ASGIDecorator`` inherits it (re-wraps the handler, inspecting
   its signature, per request), ``AbstractSecurityHandler._accepts_kwarg`` (inspects the bearer
   function's signature twice per request), ``BaseDecorator.uri_parser`` (a property building a
   new URI parser per request) and ``OpenAPIURIParser.param_schemas`` (a property rebuilding a
   dict at every read). Two module functions called per request are replaced by equivalents (a guard
   test holds them to the originals' answers): ``connexion.utils.extract_content_type`` (built
   ``typing`` generics on every call, three times a request) and
   ``connexion.decorators.parameter.sanitized`` (three regular expressions per parameter name,
   per request; the names come from the contract, so each is worked out once).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, MutableMapping
from itertools import islice
from typing import Any, ClassVar

import connexion.decorators.parameter
import connexion.utils
import jsonschema_rs
import orjson
from connexion.apps.asynchronous import AsyncOperation
from connexion.datastructures import MediaTypeDict
from connexion.decorators.main import ASGIDecorator, BaseDecorator
from connexion.exceptions import InvalidSpecification, NonConformingResponseBody
from connexion.security import AbstractSecurityHandler
from connexion.spec import OpenAPISpecification, Specification
from connexion.uri_parsing import AbstractURIParser, OpenAPIURIParser
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from tasks_api import contract_verdicts
from tasks_api.problems import malformed_request, payload_too_large, validation_problem

logger = logging.getLogger(__name__)

_ORIGINAL_VALIDATE_SPEC = Specification.__dict__["_validate_spec"]
_ORIGINAL_OPERATION_FN = AsyncOperation.__dict__["fn"]
_ORIGINAL_ACCEPTS_KWARG = AbstractSecurityHandler.__dict__["_accepts_kwarg"]
_ORIGINAL_URI_PARSER = BaseDecorator.__dict__["uri_parser"]
_ORIGINAL_PARAM_SCHEMAS = OpenAPIURIParser.__dict__["param_schemas"]
_ORIGINAL_DECORATE = BaseDecorator.__dict__["decorate"]
_ORIGINAL_EXTRACT_CONTENT_TYPE = connexion.utils.extract_content_type
_ORIGINAL_SANITIZED = connexion.decorators.parameter.sanitized


class CompiledSchemas:
    """jsonschema-rs validators keyed by the identity of the schema dict they were built from.

    The cache holds each schema alongside its validator, so an id can never be reused by another
    dict while its entry lives.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Mapping[str, Any], jsonschema_rs.Validator]] = {}
        self._lock = threading.Lock()
        self.compilations = 0

    def validator_for(self, schema: Mapping[str, Any]) -> jsonschema_rs.Validator:
        entry = self._by_id.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        validator = jsonschema_rs.Draft202012Validator(_standalone(schema), validate_formats=True)
        with self._lock:
            self._by_id[id(schema)] = (schema, validator)
            self.compilations += 1
        return validator


COMPILED_SCHEMAS = CompiledSchemas()
MAX_REPORTED_ERRORS = 100
# Deeper than any body the contract describes (2 levels), far below where jsonschema-rs gives up
# ("Recursion limit reached", at 256 levels) or orjson does (1024).
MAX_JSON_NESTING = 32

# Keywords whose values map names to subschemas (so a key there is a name, not a keyword).
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _standalone(node: Any, names: bool = False) -> Any:
    """A copy of the schema without the ``components`` Connexion attaches for ``$ref`` lookups.

    Connexion has already inlined every ``$ref``, and the attached components may contain the
    schema itself, a cycle no validator can compile.
    """
    if isinstance(node, dict):
        return {
            key: _standalone(value, names=not names and key in _NAME_MAPS)
            for key, value in node.items()
            if names or key != "components"
        }
    if isinstance(node, list):
        return [_standalone(item) for item in node]
    return node


def _nesting_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_NESTING:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _json_pointer(path: list[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _clip(text: str, limit: int = 1000) -> str:
    """Messages quote the offending value; a megabyte of it helps nobody."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _write_only(schema: Any, schema_path: list[str | int]) -> bool:
    """Whether the failing keyword sits under a ``writeOnly`` schema (a password, say)."""
    node = schema
    for part in schema_path:
        if isinstance(node, dict) and node.get("writeOnly") is True:
            return True
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return False


def _detail(schema: Mapping[str, Any], error: jsonschema_rs.ValidationError) -> str:
    """The validator's message, which quotes the value, unless the value is writeOnly: those
    (passwords) are never echoed, only the rule they broke."""
    path = list(error.schema_path)
    if _write_only(schema, path):
        return f"does not satisfy the contract's '{path[-1] if path else 'schema'}' rule"
    return _clip(error.message)


def _errors(schema: Mapping[str, Any], instance: Any, pointer_prefix: str = "") -> list[dict[str, str]]:
    try:
        found = islice(COMPILED_SCHEMAS.validator_for(schema).iter_errors(instance), MAX_REPORTED_ERRORS)
        return [
            {
                "pointer": _clip(pointer_prefix + _json_pointer(error.instance_path)),
                "detail": _detail(schema, error),
            }
            for error in found
        ]
    except UnicodeEncodeError:
        # Lone surrogates cannot become UTF-8, so neither jsonschema-rs nor PostgreSQL takes them.
        return [{"pointer": pointer_prefix or "/", "detail": "contains a lone UTF-16 surrogate"}]


# Verdict keys (tasks_api.contract_verdicts) of the 3.1 documents this process found valid. A
# worker's contract is checked once: ``serve`` checks it while the database starts
# (tasks_api.app.prepare_ahead), and Connexion's check in create_app then finds it here. A later
# process finds it on disk and does not check it at all.
_VALID_31_DOCUMENTS: set[str] = set()


def check_openapi_31(spec: Mapping[str, Any]) -> None:
    """Raise ``InvalidSpecification`` unless ``spec`` is a valid OpenAPI 3.1 document."""
    key = contract_verdicts.verdict_key(spec)
    if key in _VALID_31_DOCUMENTS:
        return
    if not contract_verdicts.found_valid_before(key):
        try:
            OpenAPIV31SpecValidator(spec).validate()
        except OpenAPIValidationError as error:
            raise InvalidSpecification.create_from(error) from error
        contract_verdicts.remember_valid(key)
    _VALID_31_DOCUMENTS.add(key)


def _validate_spec(cls: type[OpenAPISpecification], spec: dict[str, Any]) -> None:
    if not str(spec.get("openapi", "")).startswith("3.1"):
        _ORIGINAL_VALIDATE_SPEC.__func__(cls, spec)
        return
    check_openapi_31(spec)


def accept_openapi_31() -> None:
    """Let Connexion load 3.1 documents, checked against the 3.1 rules (idempotent)."""
    OpenAPISpecification._validate_spec = classmethod(_validate_spec)


class Draft202012ParameterValidator(ParameterValidator):  # type: ignore[misc]
    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is None:
            if param.get("required"):
                return f"Missing {parameter_type} parameter '{param['name']}'"
            return None
        errors = _errors(param.get("schema", param), value)
        if errors:
            raise validation_problem(
                f"The {parameter_type} parameter '{param['name']}' is invalid.",
                [{"pointer": param["name"], "detail": error["detail"]} for error in errors],
            )
        return None


class ClientLeftMidBody(Exception):
    """The client closed the connection before its body was complete: no one to answer."""


class Draft202012RequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """JSON bodies: size-limited (declared or chunked), parsed strictly (orjson refuses invalid
    UTF-8 and lone surrogates, which PostgreSQL could not store), nesting bounded, validated with
    2020-12 rules."""

    max_body_bytes: ClassVar[int] = 1024 * 1024

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared is not None and int(declared) > self.max_body_bytes:
            raise payload_too_large(self.max_body_bytes)  # before reading a byte (no 100 Continue)
        if not chunked and not int(declared or 0):
            if self._required:  # the same answer Connexion gave (a contract violation)
                raise validation_problem(
                    "The request body is required.", [{"pointer": "", "detail": "required"}]
                )
            return receive, scope
        messages: list[Any] = []

        async def stream() -> AsyncGenerator[bytes, None]:
            more_body = True
            while more_body:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientLeftMidBody
                messages.append(message)
                more_body = message.get("more_body", False)
                yield message.get("body", b"")

        try:
            body = await self._parse(stream(), scope=scope)
        except ClientLeftMidBody:
            logger.info("client left before sending the whole body of %s %s", scope["method"], scope["path"])
            raise malformed_request("The connection closed before the body was complete.") from None
        if not (body is None and self._nullable):
            self._validate(body)
        return self._insert_messages(receive, messages=messages), scope

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        chunks: list[bytes] = []
        size = 0
        async for chunk in stream:
            size += len(chunk)
            if size > self.max_body_bytes:
                raise payload_too_large(self.max_body_bytes)  # and read no further
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body:
            return None
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise malformed_request(f"The body is not valid JSON: {error}") from error
        if _nesting_depth(parsed) > MAX_JSON_NESTING:
            raise malformed_request(
                f"The body nests arrays or objects deeper than {MAX_JSON_NESTING} levels."
            )
        return parsed

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise malformed_request("The request body must not be empty.")
        errors = _errors(self._schema, body)
        if errors:
            raise validation_problem("The request body does not match the contract.", errors)


class Draft202012ResponseBodyValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    def _parse(self, stream: Generator[bytes, None, None]) -> Any:
        body = b"".join(stream)
        if not body:
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise NonConformingResponseBody(str(error)) from error

    def _validate(self, body: Any) -> None:
        errors = _errors(self._schema, body)
        if errors:
            details = "; ".join(f"{error['pointer'] or '/'}: {error['detail']}" for error in errors)
            raise NonConformingResponseBody(
                detail=f"Response body does not conform to specification. {details}"
            )


def validator_map(max_body_bytes: int) -> dict[str, Any]:
    """The ``validator_map`` for ``add_api``: 2020-12 validators for every JSON media type."""
    request_body = type(
        "SizedDraft202012RequestBodyValidator",
        (Draft202012RequestBodyValidator,),
        {"max_body_bytes": max_body_bytes},
    )
    return {
        "parameter": Draft202012ParameterValidator,
        "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": request_body}),
        "response": MediaTypeDict({**VALIDATOR_MAP["response"], "*/*json": Draft202012ResponseBodyValidator}),
    }


def request_context(scope: MutableMapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dicts in which Connexion will leave this request's operationId and verified token.

    Connexion's routing hands shallow copies of the scope down, so what it writes is lost to an
    outer middleware unless the nested dicts already exist in the outer scope: created here, they
    are shared, and readable once the response has been sent.
    """
    extensions = scope.setdefault("extensions", {})
    return extensions.setdefault("connexion_routing", {}), extensions.setdefault("connexion_context", {})


def _decorated_once(operation: AsyncOperation) -> Callable[..., Any]:
    """The operation's handler wrapped in Connexion's decorators, built on first use and kept.

    The wrappers hold no per-request state (each call reads the request from Connexion's context),
    so one set serves every request, as Connexion's own ``FlaskOperation`` users would expect.
    """
    decorated: Callable[..., Any] | None = operation.__dict__.get("_tasks_api_decorated")
    if decorated is None:
        decorated = _ORIGINAL_OPERATION_FN.fget(operation)
        operation.__dict__["_tasks_api_decorated"] = decorated
    return decorated


def _decorate_once(decorator: ASGIDecorator, function: Callable[..., Any]) -> Callable[..., Any]:
    """The handler wrapped for parameters and responses: depends on the decorator's settings and
    the function only, so it is built once per (operation's decorator, function)."""
    cache: dict[Callable[..., Any], Callable[..., Any]] = decorator.__dict__.setdefault(
        "_tasks_api_cache", {}
    )
    decorated = cache.get(function)
    if decorated is None:
        decorated = cache[function] = _ORIGINAL_DECORATE(decorator, function)
    return decorated


def _uri_parser_once(decorator: BaseDecorator) -> AbstractURIParser:
    """The decorator's URI parser, built on first use and kept. A parser holds the operation's
    parameter definitions and nothing of a request, and ``_decorated_once`` gives each operation
    a decorator of its own, so one parser serves every request of that operation."""
    parser: AbstractURIParser | None = decorator.__dict__.get("_tasks_api_uri_parser")
    if parser is None:
        parser = decorator.__dict__["_tasks_api_uri_parser"] = _ORIGINAL_URI_PARSER.fget(decorator)
    return parser


def _param_schemas_once(parser: OpenAPIURIParser) -> dict[str, Any]:
    """``OpenAPIURIParser.param_schemas``, worked out once per parser (Connexion rebuilds the dict
    at every read, twice per parameter of a request); its definitions never change."""
    schemas: dict[str, Any] | None = parser.__dict__.get("_tasks_api_param_schemas")
    if schemas is None:
        schemas = parser.__dict__["_tasks_api_param_schemas"] = _ORIGINAL_PARAM_SCHEMAS.fget(parser)
    return schemas


@functools.cache
def _accepts_kwarg(function: Callable[..., Any], keyword: str) -> bool:
    return bool(_ORIGINAL_ACCEPTS_KWARG.__func__(function, keyword))


def reuse_per_operation_work() -> None:
    """Stop Connexion from redoing per request what depends only on the operation (idempotent)."""
    AsyncOperation.fn = property(_decorated_once)
    ASGIDecorator.decorate = _decorate_once
    AbstractSecurityHandler._accepts_kwarg = staticmethod(_accepts_kwarg)
    BaseDecorator.uri_parser = property(_uri_parser_once)
    OpenAPIURIParser.param_schemas = property(_param_schemas_once)
    connexion.utils.extract_content_type = _extract_content_type
    connexion.decorators.parameter.sanitized = _sanitized


def _extract_content_type(headers: list[tuple[bytes, bytes]] | Mapping[str, str]) -> str | None:
    """``connexion.utils.extract_content_type``: the first Content-Type of ASGI header pairs or of
    a handler's headers dict, latin-1 decoded."""
    for key, value in headers.items() if isinstance(headers, Mapping) else headers:
        name = key.decode("latin-1") if isinstance(key, bytes) else key
        if name.lower() == "content-type":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


# Bounded although the names come from the contract: a cache must not grow with what clients send.
_sanitized: Callable[[str], str] = functools.lru_cache(maxsize=1024)(_ORIGINAL_SANITIZED)

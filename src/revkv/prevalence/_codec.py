"""Codecs turn commands and whole states into bytes and back.

`pickle` (the default, as in coopy) persists any Python object of the user's own
classes. Unpickling runs code named by the data, so it is only for a directory the user
owns and trusts; revkv never unpickles anything that came from the network.

`msgpack` (through msgspec) persists plain data only: str, bytes, int, float, bool,
None, list, dict, datetime. It is what the revkv store uses. The state of a system is
taken from `__getstate__()` when its class defines one (else its `__dict__`, minus the
injected clock) and given back through `__setstate__()` (else `__dict__.update`).
Tuples come back as lists. A class that encodes itself faster (typed msgspec Structs)
defines `__encode_state__() -> bytes` and the classmethod `__decode_state__(bytes)`; one
that can take a consistent copy quickly and encode it later also defines
`__capture_state__() -> Callable[[], bytes]`, which a snapshot calls under the lock.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import msgspec

from revkv.errors import PrevalenceError

Command = tuple[str, Any, Any, float]  # (method name, args, kwargs, timestamp)

_NOT_STATE = ("_clock",)


class Codec(Protocol):
    name: ClassVar[str]

    def encode_command(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], ts: float
    ) -> bytes: ...
    def decode_command(self, body: bytes | memoryview) -> Command: ...
    def encode_state(self, obj: object) -> bytes: ...
    def capture_state(self, obj: object) -> Callable[[], bytes]: ...
    def decode_state(self, data: bytes | memoryview, cls: type) -> object: ...


class PickleCodec:
    name: ClassVar[str] = "pickle"

    def encode_command(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], ts: float
    ) -> bytes:
        try:
            return pickle.dumps((name, args, kwargs or None, ts), protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise PrevalenceError(
                f"the arguments of {name}() cannot be journaled: {exc}. Pass values that "
                "pickle can store (no open files, locks, lambdas or local classes)"
            ) from exc

    def decode_command(self, body: bytes | memoryview) -> Command:
        name, args, kwargs, ts = pickle.loads(body)
        return name, args, kwargs or {}, ts

    def encode_state(self, obj: object) -> bytes:
        return pickle.dumps(obj, protocol=5)

    def capture_state(self, obj: object) -> Callable[[], bytes]:
        data = self.encode_state(obj)
        return lambda: data

    def decode_state(self, data: bytes | memoryview, cls: type) -> object:
        obj = pickle.loads(data)
        if not isinstance(obj, cls):
            raise PrevalenceError(
                f"the snapshot holds a {type(obj).__qualname__}, not a {cls.__qualname__}"
            )
        return obj


class MsgpackCodec:
    name: ClassVar[str] = "msgpack"

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder()

    def encode_command(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], ts: float
    ) -> bytes:
        try:
            return self._encoder.encode((name, args, kwargs or None, ts))
        except (TypeError, msgspec.EncodeError) as exc:
            raise PrevalenceError(
                f"the arguments of {name}() cannot be journaled with the msgpack codec: {exc}. "
                "Pass plain data (str, bytes, int, float, bool, None, list, dict, datetime) "
                "or open the system with codec='pickle'"
            ) from exc

    def decode_command(self, body: bytes | memoryview) -> Command:
        name, args, kwargs, ts = self._decoder.decode(body)
        return name, args, kwargs or {}, ts

    def capture_state(self, obj: object) -> Callable[[], bytes]:
        """What a snapshot takes under the lock; the returned call encodes outside it."""
        hook = getattr(obj, "__capture_state__", None)
        if hook is not None:
            capture: Callable[[], bytes] = hook()
            return capture
        data = self.encode_state(obj)
        return lambda: data

    def encode_state(self, obj: object) -> bytes:
        hook = getattr(obj, "__encode_state__", None)
        if hook is not None:
            return bytes(hook())
        state = _state_of(obj)
        try:
            return self._encoder.encode(state)
        except (TypeError, msgspec.EncodeError) as exc:
            raise PrevalenceError(
                f"the state of {type(obj).__qualname__} is not plain data ({exc}); give the "
                "class __getstate__/__setstate__ that return plain data, or use codec='pickle'"
            ) from exc

    def decode_state(self, data: bytes | memoryview, cls: type) -> object:
        hook = getattr(cls, "__decode_state__", None)
        if hook is not None:
            return hook(data)
        new: Any = cls.__new__
        obj = new(cls)
        state = self._decoder.decode(data)
        if _defines(cls, "__setstate__"):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
        return obj


def _defines(cls: type, name: str) -> bool:
    return getattr(cls, name, None) is not getattr(object, name, None)


def _state_of(obj: object) -> Any:
    if _defines(type(obj), "__getstate__"):
        return obj.__getstate__()
    return {k: v for k, v in vars(obj).items() if k not in _NOT_STATE}


CODECS: dict[str, type[PickleCodec] | type[MsgpackCodec]] = {
    "pickle": PickleCodec,
    "msgpack": MsgpackCodec,
}


def get_codec(name: str) -> Codec:
    try:
        return CODECS[name]()
    except KeyError:
        raise PrevalenceError(
            f"unknown codec {name!r}; choose one of {', '.join(sorted(CODECS))}"
        ) from None

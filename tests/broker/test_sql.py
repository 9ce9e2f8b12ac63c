"""SQLAlchemy models served by the broker (the guide's person/address), on SQLite and
PostgreSQL, and DaBroker's session helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from revkv.broker import BaseObj, BrokerClient, BrokerServer, NotExported
from revkv.broker import _sql as sqlmod
from revkv.broker._sql import SQLLoader, session_wrapper, with_session
from revkv.errors import InvalidRequest
from tests.broker.guide import local_cfg


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    secret: Mapped[str] = mapped_column(String(50), default="hush")
    addresses: Mapped[list[Address]] = relationship(back_populates="person")


class Address(Base):
    __tablename__ = "address"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(80))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    person: Mapped[Person] = relationship(back_populates="addresses")


class Root(BaseObj):
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def session_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'people.db'}"
    else:
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        joe = Person(name="joe", secret="s1")
        session.add_all([joe, Person(name="moe"), Address(email="joe@example.org", person=joe)])
        session.commit()
    yield factory
    engine.dispose()


def serve(factory: Any, rw: bool | None) -> tuple[BrokerServer, SQLLoader]:
    broker = BrokerServer(local_cfg())
    root = Root()
    broker.export_object(root, "data")
    sql = SQLLoader(factory, broker)
    sql.add_model(Person, root.data, rw=rw, hide={"secret"})
    sql.add_model(Address, root.data)
    broker.root = root
    broker.start()
    return broker, sql


@pytest.fixture
def rw_mode() -> bool | None:
    return False


@pytest.fixture
def client(
    session_factory: Any, rw_mode: bool | None
) -> Iterator[tuple[BrokerServer, BrokerClient]]:
    broker, _ = serve(session_factory, rw_mode)
    with BrokerClient(broker.cfg) as client:
        yield broker, client
    broker.stop()


def test_read_only_models(client: tuple[BrokerServer, BrokerClient]) -> None:
    _, remote = client
    people = remote.root.data["Person"]
    joe = people.get(name="joe")
    assert joe.name == "joe"
    assert "secret" not in joe._meta.fields
    assert not hasattr(joe, "secret")
    assert [p.name for p in people.find()] == ["joe", "moe"]
    assert people.count(name="moe") == 1
    assert len(joe.addresses) == 1
    address = joe.addresses[0]
    assert address.email == "joe@example.org"
    assert address.person.name == "joe"
    with pytest.raises(InvalidRequest, match="cannot be searched by 'secret'"):
        people.find(secret="s1")  # hidden: it cannot be probed
    with pytest.raises(AttributeError):
        people.new(name="curly")
    with pytest.raises(NotExported):
        remote.send("new", _o=people, name="curly")


@pytest.mark.parametrize("rw_mode", [True])
def test_read_write_models(client: tuple[BrokerServer, BrokerClient], session_factory: Any) -> None:
    _, remote = client
    people = remote.root.data["Person"]
    curly = people.new(name="curly")
    assert curly.name == "curly"
    assert people.count() == 3
    people.delete(curly)
    assert people.count() == 2
    with session_factory() as session:
        assert session.scalars(select(Person.name).order_by(Person.id)).all() == ["joe", "moe"]


@pytest.mark.parametrize("rw_mode", [None])
def test_attribute_only_models(client: tuple[BrokerServer, BrokerClient]) -> None:
    _, remote = client
    people = remote.root.data["Person"]
    with pytest.raises(NotExported, match="cannot be searched"):
        people.get(name="joe")
    address = remote.root.data["Address"].get(email="joe@example.org")
    assert address.person.name == "joe"


def test_obj_update_commits_and_invalidates(
    client: tuple[BrokerServer, BrokerClient], session_factory: Any
) -> None:
    broker, remote = client
    joe = remote.root.data["Person"].get(name="joe")
    with session_wrapper(Person) as session:
        row = session.scalars(select(Person).where(Person.name == "joe")).one()
        broker.obj_update(row, name="joseph")
    assert joe._obsolete
    assert joe._key().name == "joseph"
    with session_factory() as session:
        assert session.get(Person, row.id).name == "joseph"


def test_nested_wrappers(session_factory: Any) -> None:
    broker, _ = serve(session_factory, True)
    sqlite = session_factory.kw["bind"].dialect.name == "sqlite"
    sqlmod._sqlite_warned = False

    @with_session
    def rename(session: Any, model: Any, old: str, new: str) -> None:
        session.scalars(select(Person).where(Person.name == old)).one().name = new

    with session_wrapper(Person) as outer:
        if sqlite:
            with pytest.warns(RuntimeWarning, match="savepoints"):
                rename(Person, "joe", "joey")  # nested: shares the outer transaction
        else:
            rename(Person, "joe", "joey")  # nested: a savepoint
            with pytest.raises(ValueError, match="savepoint"), session_wrapper(Person) as inner:  # noqa: PT012
                assert inner is outer
                inner.add(Person(name="ghost"))
                inner.flush()
                raise ValueError("undo the savepoint only")
    with session_factory() as session:
        names = session.scalars(select(Person.name).order_by(Person.id)).all()
    assert names == ["joey", "moe"]
    broker.stop()


def test_wrapper_needs_a_served_model() -> None:
    with pytest.raises(TypeError, match="add_model"), session_wrapper(object()):
        pass

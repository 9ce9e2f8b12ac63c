"""revkv.http._odata.schema and .edmx: loading EDMX into a model, and writing $metadata."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET

import pytest

from revkv.errors import InvalidRequest
from revkv.http._odata.edmx import load_edmx, metadata_xml
from revkv.http._odata.schema import (
    REVKV_SCHEMA,
    CommitField,
    EntitySet,
    InvalidSchema,
    Model,
    check_identifier,
    default_entity_type,
    is_identifier,
    service_model,
)
from revkv.query import EdmType

SEED = b"""<?xml version="1.0" encoding="utf-8" standalone="yes" ?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
    xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
  <edmx:DataServices m:DataServiceVersion="2.0">
    <Schema Namespace="MemCacheSchema" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">
      <EntityContainer Name="MemCache" m:IsDefaultEntityContainer="true">
        <EntitySet Name="KeyValuePairs" EntityType="MemCacheSchema.KeyValuePair"/>
      </EntityContainer>
      <EntityType Name="KeyValuePair">
        <Key><PropertyRef Name="Key"/></Key>
        <Property Name="Key" Type="Edm.String" Nullable="false" MaxLength="256"
            Unicode="true" FixedLength="false"/>
        <Property Name="Value" Type="Edm.String" Nullable="false" MaxLength="8192"
            Unicode="true" FixedLength="false"/>
        <Property Name="Expires" Type="Edm.DateTime" Nullable="false" Precision="3"/>
      </EntityType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"""

EDM_2006 = "http://schemas.microsoft.com/ado/2006/04/edm"
EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


def document(
    properties: str,
    *,
    key: str = '<PropertyRef Name="Id"/>',
    extra_type: str = "",
    container: str = "",
    edm: str = EDM_2006,
    type_attributes: str = "",
) -> str:
    """An EDMX document with one entity type ``T.Thing`` (key ``Id``) and a default
    container ``C`` holding ``Things``."""
    sets = container or (
        '<EntityContainer Name="C" m:IsDefaultEntityContainer="true">'
        '<EntitySet Name="Things" EntityType="T.Thing"/></EntityContainer>'
    )
    return (
        f'<edmx:Edmx Version="1.0" xmlns:edmx="{EDMX}" xmlns:m="{M}" xmlns:revkv="urn:revkv">'
        f'<edmx:DataServices m:DataServiceVersion="2.0"><Schema Namespace="T" xmlns="{edm}">'
        f'<EntityType Name="Thing"{type_attributes}><Key>{key}</Key>'
        '<Property Name="Id" Type="Edm.Int32" Nullable="false"/>'
        f"{properties}{extra_type}</EntityType>{sets}</Schema></edmx:DataServices></edmx:Edmx>"
    )


def test_the_seed_schema_loads_into_its_model() -> None:
    model = load_edmx(SEED)
    kv = model.entity_set("KeyValuePairs")
    assert kv.path == "KeyValuePairs"
    assert kv.title == "MemCacheSchema.MemCache.KeyValuePairs"
    entity_type = kv.entity_type
    assert entity_type.qualified_name == "MemCacheSchema.KeyValuePair"
    assert entity_type.key == "Key"
    key, value, expires = entity_type.properties
    assert (key.type, key.nullable, key.max_length, key.unicode, key.fixed_length) == (
        EdmType.STRING,
        False,
        256,
        True,
        False,
    )
    assert key.commit_field is CommitField.KEY
    assert (value.max_length, value.commit_field) == (8192, None)
    assert (expires.type, expires.precision, expires.nullable) == (EdmType.DATETIME, 3, False)
    assert entity_type.expiry == "Expires"
    assert expires.commit_field is CommitField.EXPIRES
    assert entity_type.payload_properties == (value,)
    assert entity_type.stores_json
    assert model.default_container is not None
    assert model.default_container.name == "MemCache"


@pytest.mark.parametrize(
    "edm",
    [
        "http://schemas.microsoft.com/ado/2006/04/edm",
        "http://schemas.microsoft.com/ado/2007/05/edm",
        "http://schemas.microsoft.com/ado/2008/09/edm",
        "http://schemas.microsoft.com/ado/2009/11/edm",
    ],
)
def test_every_csdl_version_of_odata_2_is_read(edm: str) -> None:
    model = load_edmx(document('<Property Name="Name" Type="Edm.String"/>', edm=edm))
    assert [p.name for p in model.entity_set("Things").entity_type.properties] == ["Id", "Name"]


def test_facets_are_read() -> None:
    model = load_edmx(
        document(
            '<Property Name="Price" Type="Edm.Decimal" Precision="10" Scale="2" Nullable="true"/>'
            '<Property Name="Text" Type="Edm.String" MaxLength="Max" FixedLength="true"/>'
        )
    )
    entity_type = model.entity_set("Things").entity_type
    assert (entity_type["Price"].precision, entity_type["Price"].scale) == (10, 2)
    assert entity_type["Text"].max_length is None
    assert entity_type["Text"].fixed_length is True
    assert "Price" in entity_type
    assert "Nope" not in entity_type
    with pytest.raises(KeyError):
        entity_type["Nope"]


class TestExpiry:
    def test_by_convention_a_datetime_named_expires(self) -> None:
        model = load_edmx(document('<Property Name="Expires" Type="Edm.DateTimeOffset"/>'))
        assert model.entity_set("Things").entity_type.expiry == "Expires"

    def test_a_property_named_expires_of_another_type_is_just_data(self) -> None:
        model = load_edmx(document('<Property Name="Expires" Type="Edm.String"/>'))
        entity_type = model.entity_set("Things").entity_type
        assert entity_type.expiry is None
        assert entity_type["Expires"].commit_field is None

    def test_by_annotation(self) -> None:
        model = load_edmx(
            document(
                '<Property Name="Until" Type="Edm.DateTime" revkv:Expiry="true"/>'
                '<Property Name="Expires" Type="Edm.DateTime"/>'
            )
        )
        entity_type = model.entity_set("Things").entity_type
        assert entity_type.expiry == "Until"
        assert entity_type["Expires"].commit_field is None

    def test_by_setting_which_wins_over_annotation(self) -> None:
        xml = document(
            '<Property Name="Until" Type="Edm.DateTime" revkv:Expiry="true"/>'
            '<Property Name="Dies" Type="Edm.DateTime"/>'
        )
        assert (
            load_edmx(xml, expiry={"T.Thing": "Dies"}).entity_set("Things").entity_type.expiry
            == "Dies"
        )
        assert (
            load_edmx(xml, expiry={"Thing": "Dies"}).entity_set("Things").entity_type.expiry
            == "Dies"
        )

    @pytest.mark.parametrize(
        ("properties", "expiry", "message"),
        [
            ('<Property Name="Until" Type="Edm.String" revkv:Expiry="true"/>', None, "Until"),
            ('<Property Name="Until" Type="Edm.DateTime"/>', {"T.Thing": "Nope"}, "Nope"),
            ('<Property Name="Until" Type="Edm.Int32"/>', {"T.Thing": "Until"}, "DateTime"),
            (
                '<Property Name="A" Type="Edm.DateTime" revkv:Expiry="true"/>'
                '<Property Name="B" Type="Edm.DateTime" revkv:Expiry="true"/>',
                None,
                "more than one expiry",
            ),
        ],
    )
    def test_a_wrong_expiry_is_refused(
        self, properties: str, expiry: dict[str, str] | None, message: str
    ) -> None:
        with pytest.raises(InvalidSchema, match=message):
            load_edmx(document(properties), expiry=expiry)


def test_revkv_field_annotations_bind_properties_to_the_commit() -> None:
    model = load_edmx(
        document(
            '<Property Name="Who" Type="Edm.String" revkv:Field="author"/>'
            '<Property Name="V" Type="Edm.Int64" revkv:Field="version"/>'
        )
    )
    entity_type = model.entity_set("Things").entity_type
    assert entity_type["Who"].commit_field is CommitField.AUTHOR
    assert not entity_type["Who"].read_only
    assert entity_type["V"].read_only
    with pytest.raises(InvalidSchema, match="revkv:Field='owner' is not one of"):
        load_edmx(document('<Property Name="W" Type="Edm.String" revkv:Field="owner"/>'))


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (document("", key='<PropertyRef Name="Id"/><PropertyRef Name="Other"/>'), "composite keys"),
        (document("", key=""), "it has no Key"),
        (document("", key='<PropertyRef Name="Nope"/>'), "key 'Nope'"),
        (document('<Property Name="Addr" Type="T.Address"/>'), "not a primitive Edm type"),
        (document('<NavigationProperty Name="Owner"/>'), "navigation properties"),
        (
            document('<Property Name="Id" Type="Edm.Int32" Nullable="false"/>'),
            "declares a property twice",
        ),
        (
            document("", extra_type="").replace(
                "</Schema>",
                '<EntityType Name="Thing"><Key><PropertyRef Name="Id"/></Key>'
                '<Property Name="Id" Type="Edm.Int32" Nullable="false"/></EntityType></Schema>',
            ),
            "entity type is declared twice",
        ),
        (document('<Property Type="Edm.String"/>'), "attribute Name is missing"),
        (document('<Property Name="X" Type="Edm.String" MaxLength="lots"/>'), "MaxLength='lots'"),
        (document('<Property Name="X" Type="Edm.String" Nullable="maybe"/>'), "Nullable='maybe'"),
        (document('<Property Name="bad-name" Type="Edm.String"/>'), "not a valid OData name"),
        (document("", type_attributes=' BaseType="T.Base"'), "inheritance"),
        (document("", type_attributes=' Abstract="true"'), "abstract"),
        (document("", type_attributes=' m:HasStream="true"'), "media link"),
        (
            document(
                "",
                container='<EntityContainer Name="C"><EntitySet Name="S" EntityType="T.Nope"/>'
                "</EntityContainer>",
            ),
            "EntityType 'T.Nope' is not declared",
        ),
        (
            document(
                "",
                container='<EntityContainer Name="C"><FunctionImport Name="F"/></EntityContainer>',
            ),
            "service operations",
        ),
        ("<Schema/>", "root element must be edmx:Edmx"),
        ("<edmx:Edmx xmlns:edmx='" + EDMX + "'/>", "exactly one edmx:DataServices"),
        ("<edmx:Edmx xmlns:edmx='" + EDMX + "'><edmx:DataServices/></edmx:Edmx>", "no CSDL"),
        ("<edmx:Edmx", "not well-formed XML at line 1"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
    ],
)
def test_what_revkv_cannot_serve_is_refused_naming_the_element(xml: str, message: str) -> None:
    with pytest.raises(InvalidSchema, match=message) as caught:
        load_edmx(xml)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, InvalidRequest)


def test_the_key_must_be_non_nullable_and_not_a_float() -> None:
    nullable_key = document("").replace('Nullable="false"', 'Nullable="true"')
    with pytest.raises(InvalidSchema, match="must be non-nullable"):
        load_edmx(nullable_key)
    double_key = document("").replace('"Edm.Int32"', '"Edm.Double"')
    with pytest.raises(InvalidSchema, match="not a float"):
        load_edmx(double_key)


def test_schema_aliases_resolve_entity_set_types() -> None:
    xml = document("").replace('Namespace="T"', 'Namespace="T" Alias="Self"')
    xml = xml.replace('EntityType="T.Thing"', 'EntityType="Self.Thing"')
    assert load_edmx(xml).entity_set("Things").entity_type.qualified_name == "T.Thing"


def test_sets_of_a_non_default_container_are_addressed_container_dot_set() -> None:
    xml = document("").replace(' m:IsDefaultEntityContainer="true"', "")
    model = load_edmx(xml)
    assert model.default_container is None
    assert "Things" not in model
    assert model.entity_set("C.Things").path == "C.Things"


def test_default_entity_type_is_the_commit() -> None:
    entity_type = default_entity_type("diary")
    assert [p.name for p in entity_type.properties] == [
        "Key",
        "Value",
        "Version",
        "Author",
        "Comment",
        "Mtime",
        "Expires",
    ]
    assert entity_type.qualified_name == "revkv.diary"
    assert entity_type["Key"].max_length == 256
    assert entity_type["Value"].type is EdmType.STRING
    assert entity_type["Version"].type is EdmType.INT64
    assert entity_type["Mtime"].type is EdmType.DATETIME
    assert entity_type["Expires"].nullable
    assert entity_type.expiry == "Expires"
    assert not entity_type.stores_json
    assert entity_type.payload_properties == ()
    assert default_entity_type("blobs", binary=True)["Value"].type is EdmType.BINARY
    with pytest.raises(InvalidSchema, match="not a valid OData name"):
        default_entity_type("my-namespace")


def test_service_model_adds_default_sets_to_the_declared_default_container() -> None:
    model = service_model(load_edmx(SEED), {"diary": False, "blobs": True})
    assert [s.path for s in model.entity_sets] == ["KeyValuePairs", "blobs", "diary"]
    diary = model.entity_set("diary")
    assert diary.container == "MemCache"
    assert diary.title == "MemCacheSchema.MemCache.diary"
    assert diary.entity_type.qualified_name == f"{REVKV_SCHEMA}.diary"
    assert model.entity_set("blobs").entity_type["Value"].type is EdmType.BINARY


def test_service_model_without_a_declared_schema() -> None:
    model = service_model(None, ["diary", "my-ns", "a.b"])
    assert [s.path for s in model.entity_sets] == ["diary"]
    assert not is_identifier("my-ns")
    assert model.entity_set("diary").title == "revkv.revkv.diary"
    assert service_model(None, []).entity_sets == ()
    declared = load_edmx(SEED)
    assert service_model(declared, {}) is declared


def test_service_model_refuses_a_clash() -> None:
    with pytest.raises(InvalidSchema, match="declared twice"):
        service_model(load_edmx(SEED), ["KeyValuePairs"])
    reserved = SEED.replace(b"MemCacheSchema", b"revkv")
    with pytest.raises(InvalidSchema, match="reserved"):
        service_model(load_edmx(reserved), ["diary"])


def test_a_model_has_at_most_one_default_container() -> None:
    declared = load_edmx(SEED)
    with pytest.raises(InvalidSchema, match="schema 'MemCacheSchema' is declared twice"):
        Model(declared.schemas + declared.schemas)
    other = load_edmx(SEED.replace(b"MemCacheSchema", b"Other").replace(b"KeyValuePairs", b"KV"))
    with pytest.raises(InvalidSchema, match="more than one default entity container"):
        Model(declared.schemas + other.schemas)


def test_check_identifier() -> None:
    assert check_identifier("_ok9", "name") == "_ok9"
    for bad in ("", "9x", "a.b", "a-b", "a b"):
        with pytest.raises(InvalidSchema):
            check_identifier(bad, "name")


@pytest.mark.parametrize(
    "make",
    [
        lambda: load_edmx(SEED),
        lambda: service_model(load_edmx(SEED), {"diary": False, "blobs": True}),
        lambda: service_model(None, {"diary": False}),
        lambda: load_edmx(
            document(
                '<Property Name="P" Type="Edm.Decimal" Precision="9" Scale="2"/>'
                '<Property Name="Until" Type="Edm.DateTime" revkv:Expiry="true"/>'
                '<Property Name="Who" Type="Edm.String" revkv:Field="author"/>'
            ).replace(' m:IsDefaultEntityContainer="true"', "")
        ),
    ],
)
def test_metadata_xml_reads_back_as_the_same_model(make: object) -> None:
    model = make()  # type: ignore[operator]
    assert load_edmx(metadata_xml(model)) == model


def test_metadata_xml_is_edmx_1_for_data_service_version_2() -> None:
    root = ET.fromstring(metadata_xml(load_edmx(SEED)))
    assert root.tag == f"{{{EDMX}}}Edmx"
    assert root.get("Version") == "1.0"
    services = root.find(f"{{{EDMX}}}DataServices")
    assert services is not None
    assert services.get(f"{{{M}}}DataServiceVersion") == "2.0"
    container = root.find(f".//{{{EDM_2006}}}EntityContainer")
    assert container is not None
    assert container.get(f"{{{M}}}IsDefaultEntityContainer") == "true"
    expires = root.find(f".//{{{EDM_2006}}}Property[@Name='Expires']")
    assert expires is not None
    assert (expires.get("Precision"), expires.get("Nullable")) == ("3", "false")
    assert expires.get("{urn:revkv}Expiry") == "true"


@pytest.mark.skipif(importlib.util.find_spec("pyslet") is None, reason="pyslet is not installed")
def test_pyslet_reads_the_metadata() -> None:  # pragma: no cover - pyslet is optional
    from pyslet.odata2 import metadata  # type: ignore[import-not-found]

    doc = metadata.Document(baseURI="http://127.0.0.1/$metadata")
    doc.read(src=metadata_xml(service_model(load_edmx(SEED), ["diary"])))
    assert doc.root.DataServices["MemCacheSchema.MemCache.diary"] is not None


def test_entity_set_path_and_title() -> None:
    entity_type = default_entity_type("x")
    assert EntitySet("S", entity_type, "C", "N", False).path == "C.S"
    assert EntitySet("S", entity_type, "C", "N").title == "N.C.S"

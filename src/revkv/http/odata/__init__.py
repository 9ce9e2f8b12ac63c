"""revkv's OData 2 door, the part without I/O: models, values, documents and URLs.

Each namespace is an entity set; each key an entity. The routes (elsewhere) read a
request with ``urls``, the body with ``atom.parse_entry`` or ``jsonfmt.parse_entity_json``,
clean it with ``entities.check_entity`` and turn it into a commit with
``entities.write_of``; they answer with the documents of ``atom`` and ``jsonfmt``, built
from ``entities.entity_from_commit``. Nothing here touches the network or the store.

    schema.py    the model: entity sets, types, properties, and where each value lives
    edmx.py      EDMX documents in (``load_edmx``) and out (``metadata_xml``)
    values.py    native Python values: checks on write, the stored JSON form, revkv keys
    literals.py  the wire forms of values: Atom text, verbose JSON, URL literals, $value
    entities.py  entities from commits, and what to commit for an entity
    atom.py      service document, feeds, entries, properties, errors; parsing entries
    jsonfmt.py   the same in OData 2 verbose JSON
    urls.py      resource paths, system query options, entity paths and next links
    xmlns.py     namespaces, safe XML parsing, and the writer with fixed prefixes
"""

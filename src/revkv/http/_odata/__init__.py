"""revkv's OData 2 door: each namespace an entity set, each key an entity.

``odata_mount(settings)`` is the door, mounted at ``/odata`` by the HTTP app. It is
layered like the rest of revkv: the routes read a request and call the pure modules,
which know nothing of the network or the store.

The door (I/O):

    door.py      the ASGI app: paths, query options, methods, errors; ``odata_mount``
    handlers.py  one handler per resource and method
    feeds.py     reading entity sets: $filter, $orderby, keyset and offset paging, counts
    writes.py    POST, PUT, MERGE, DELETE as compare-and-set commits
    catalog.py   the model of the moment (declared + one set per namespace), records
    replies.py   formats, responses, OData errors and their statuses

The pure modules:

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

from revkv.http._odata.door import ODataDoor, odata_mount

__all__ = ["ODataDoor", "odata_mount"]

"""ISO 20022 files for the competent authority: ESMA's BizData envelope (head.003) around a
Business Application Header (head.001 AppHdr) and one Document, and their validation with
lxml against ESMA's schema files.

ESMA's schemas ship with the package, unchanged with their SWIFT licence notice
(`SHIPPED_SCHEMAS`, see SOURCE.md there), so a default install never writes an unvalidated
report; `reports.schema_dir` names another copy (a newer ESMA package). The envelope's Hdr
and Pyld are strict wildcards (`xs:any processContents="strict"`), so a whole file validates
only with all three schemas loaded together: `load_schema` builds one schema that imports
the three namespaces from that folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

from qtinfra.errors import ConfigError

HEAD_003 = "urn:iso:std:iso:20022:tech:xsd:head.003.001.01"
HEAD_001 = "urn:iso:std:iso:20022:tech:xsd:head.001.001.01"
AUTH_016 = "urn:iso:std:iso:20022:tech:xsd:auth.016.001.01"
SHIPPED_SCHEMAS = Path(__file__).parent / "schemas"

Element = etree._Element


def root_element(namespace: str, tag: str, parent: Element | None = None) -> Element:
    """An element declaring namespace as its default (a new root, or a child of parent in
    another namespace), so the file reads without prefixes."""
    nsmap = cast(Any, {None: namespace})  # lxml-stubs reject the None key lxml wants
    if parent is None:
        return etree.Element(f"{{{namespace}}}{tag}", nsmap=nsmap)
    return etree.SubElement(parent, f"{{{namespace}}}{tag}", nsmap=nsmap)


def sub(parent: Element, tag: str, text: str | None = None) -> Element:
    """A child element in the parent's namespace, with text when given."""
    namespace = etree.QName(parent).namespace
    child = etree.SubElement(parent, f"{{{namespace}}}{tag}" if namespace else tag)
    if text is not None:
        child.text = text
    return child


def iso_datetime(value: datetime) -> str:
    """ISONormalisedDateTime: UTC, microseconds, and the `Z` the schemas require."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every qtinfra timestamp is timezone-aware UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def business_envelope(
    document: Element,
    sender: str,
    receiver: str,
    message_id: str,
    message_definition: str,
    created: datetime,
) -> Element:
    """BizData (head.003) holding an AppHdr (head.001, as ESMA restricts it: Fr and To are
    organisation ids of up to 35 characters) and `document` as the payload."""
    root = root_element(HEAD_003, "BizData")
    header = root_element(HEAD_001, "AppHdr", sub(root, "Hdr"))
    for tag, org in (("Fr", sender), ("To", receiver)):
        party = sub(sub(sub(sub(sub(header, tag), "OrgId"), "Id"), "OrgId"), "Othr")
        sub(party, "Id", org)
    sub(header, "BizMsgIdr", message_id)
    sub(header, "MsgDefIdr", message_definition)
    sub(header, "CreDt", iso_datetime(created))
    sub(root, "Pyld").append(document)
    return root


@dataclass(frozen=True, slots=True)
class SchemaSet:
    """The three schema files a whole file is validated against, and the compiled schema."""

    folder: Path
    envelope: Path
    header: Path
    document: Path
    schema: etree.XMLSchema

    def describe(self) -> str:
        return f"{self.folder} ({self.document.name}, {self.header.name}, {self.envelope.name})"


def _one(folder: Path, pattern: str, what: str, prefer: str | None = None) -> Path:
    """The single schema file in folder (not its subfolders) matching pattern. ESMA's
    package keeps the NCA-exchange variant (DATTRA) of auth.016, which a firm's report
    fails, beside the Reporting one; `prefer` picks the Reporting file."""
    found = sorted(p for p in folder.glob(pattern) if "DATTRA" not in p.name.upper())
    if prefer is not None and len(found) > 1:
        found = [p for p in found if prefer in p.name] or found
    if len(found) != 1:
        have = ", ".join(p.name for p in found) or "none"
        raise ConfigError(
            f"reports.schema_dir {folder}: expected one {what} schema ({pattern}), found {have}"
        )
    return found[0]


@lru_cache(maxsize=4)
def load_schema(folder: Path) -> SchemaSet:
    """Compile head.003 + head.001 + auth.016 (the Reporting usage guideline) from folder,
    as one schema (a wrapper that imports the three namespaces). Raises ConfigError when a
    file is missing or does not compile."""
    if not folder.is_dir():
        raise ConfigError(f"reports.schema_dir {folder} is not a folder")
    envelope = _one(folder, "head.003.001.01*.xsd", "head.003 (BizData envelope)")
    header = _one(folder, "head.001.001.01*.xsd", "head.001 (AppHdr)")
    document = _one(folder, "auth.016.001.01*.xsd", "auth.016 (transaction report)", "Reporting")
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{path.resolve().as_uri()}"/>'
        for ns, path in ((HEAD_003, envelope), (HEAD_001, header), (AUTH_016, document))
    )
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    try:
        schema = etree.XMLSchema(etree.fromstring(wrapper.encode()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError(
            f"reports.schema_dir {folder}: the schemas do not compile: {exc}"
        ) from exc
    return SchemaSet(folder, envelope, header, document, schema)


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One schema error: the element it is about (None when lxml names none), the path of
    local names from the root, and lxml's message with namespaces left out."""

    element: Element | None
    path: tuple[str, ...]
    attribute: str | None
    message: str


def _local(tag: object) -> str:
    return etree.QName(cast(Any, tag)).localname


def validate(root: Element, schemas: SchemaSet) -> list[SchemaViolation]:
    """Every violation of the schemas in the tree under root (empty when valid)."""
    schema = schemas.schema
    if schema.validate(root):
        return []
    tree = root.getroottree()
    out = []
    for entry in cast(Any, schema.error_log):
        message = str(entry.message)
        for ns in (HEAD_003, HEAD_001, AUTH_016):
            message = message.replace(f"{{{ns}}}", "")
        element: Element | None = None
        if entry.path:
            try:
                found = tree.xpath(entry.path)
            except etree.XPathError:
                found = []
            if isinstance(found, list) and found and isinstance(found[0], etree._Element):
                element = found[0]
        path: tuple[str, ...] = ()
        if element is not None:
            path = tuple(_local(e.tag) for e in reversed([element, *element.iterancestors()]))
        attribute = None
        marker = "attribute '"
        if marker in message:
            attribute = message.split(marker, 1)[1].split("'", 1)[0]
        out.append(SchemaViolation(element, path, attribute, message))
    return out

#!/usr/bin/env python3
"""Generates the crate `crates/ferry-model` from the botocore service models.

For each of CodeCommit, CodeBuild, CodeDeploy, CodePipeline and CodeArtifact, and of the
companion services CloudWatch Logs, SSM and Secrets Manager, it writes one module with the Rust
input/output types, the model tables `ferry_wire::validate` and `ferry_wire::rest` walk
(`SERVICE`), the operation list, a handler trait whose methods default to
`NotImplementedException`, the `Request`/`Response` enums and a `dispatch` function; plus the
crate's `lib.rs`. A service may type only an allow-list of its operations (the big models):
the others still route and answer `NotImplementedException`. The output is formatted with `rustfmt --edition 2024` so that it is stable.

    python3 tools/codegen/generate.py           # rewrite the generated files
    python3 tools/codegen/generate.py --check   # exit 1 if the committed files differ

Needs Python 3.11+ and botocore (pinned below); nothing else.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import botocore
from botocore.loaders import Loader

BOTOCORE_VERSION = "1.43.11"

ROOT = Path(__file__).resolve().parents[2]
CRATE_SRC = ROOT / "crates" / "ferry-model" / "src"
GENERATOR = "tools/codegen/generate.py"


@dataclass(frozen=True)
class ServiceSpec:
    module: str  # botocore service name and Rust module name
    trait: str  # handler trait name
    title: str  # human name for docs
    validation_exception: str
    # When set, only these operations (and the shapes reachable from them) get types, trait
    # methods and tables; every other operation of the model still routes and answers
    # `NotImplementedException`.
    typed_operations: tuple[str, ...] | None = None


LOGS_OPERATIONS = (
    "CreateLogGroup", "CreateLogStream", "DeleteLogGroup", "DeleteLogStream",
    "DeleteRetentionPolicy", "DescribeLogGroups", "DescribeLogStreams", "FilterLogEvents",
    "GetLogEvents", "PutLogEvents", "PutRetentionPolicy",
)
SSM_OPERATIONS = (
    "DeleteParameter", "DeleteParameters", "DescribeParameters", "GetParameter",
    "GetParameterHistory", "GetParameters", "GetParametersByPath", "LabelParameterVersion",
    "PutParameter",
)

SERVICES = [
    ServiceSpec("codecommit", "CodeCommit", "CodeCommit", "ValidationException"),
    ServiceSpec("codebuild", "CodeBuild", "CodeBuild", "InvalidInputException"),
    ServiceSpec("codedeploy", "CodeDeploy", "CodeDeploy", "ValidationException"),
    ServiceSpec("codepipeline", "CodePipeline", "CodePipeline", "ValidationException"),
    ServiceSpec("codeartifact", "CodeArtifact", "CodeArtifact", "ValidationException"),
    ServiceSpec("logs", "Logs", "CloudWatch Logs", "InvalidParameterException", LOGS_OPERATIONS),
    ServiceSpec("ssm", "Ssm", "SSM", "ValidationException", SSM_OPERATIONS),
    ServiceSpec("secretsmanager", "SecretsManager", "Secrets Manager", "InvalidParameterException"),
]

RUST_KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
}
# Keywords that cannot be raw identifiers.
NOT_RAW = {"self", "super", "crate", "Self"}

# Prelude / std names generated code uses; fully qualified when a generated type has the name.
STD_PATHS = {
    "Option": "::std::option::Option",
    "String": "::std::string::String",
    "Vec": "::std::vec::Vec",
    "Box": "::std::boxed::Box",
    "Result": "::std::result::Result",
    "Send": "::std::marker::Send",
    "Sync": "::std::marker::Sync",
}

# Items every service module defines besides its types.
RESERVED_ITEMS = {"SERVICE", "OPERATIONS", "TYPED_OPERATIONS", "Request", "Response", "dispatch", "call", "tables"}


# ---------------------------------------------------------------------------------------------
# Naming


def snake(name: str) -> str:
    """`repositoryName` → `repository_name`, `KMSKeyId` → `kms_key_id`."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^A-Za-z0-9_]", "_", s).lower()


def field_ident(name: str) -> str:
    ident = snake(name)
    if ident in NOT_RAW:
        return ident + "_"
    if ident in RUST_KEYWORDS:
        return "r#" + ident
    if ident[0].isdigit():
        return "n" + ident
    return ident


def variant_ident(value: str) -> str:
    """`CodeDeployDefault.OneAtATime` → `CodeDeployDefaultOneAtATime`, `IN_PROGRESS` →
    `InProgress`, `ascending` → `Ascending`, `SHA-256` → `Sha256`."""
    out = ""
    for part in re.split(r"[^A-Za-z0-9]+", value):
        if not part:
            continue
        if len(part) > 1 and not any(c.islower() for c in part):
            part = part[0] + part[1:].lower()
        out += part[0].upper() + part[1:]
    if not out or out[0].isdigit():
        out = "V" + out
    if out == "Self":
        out = "Self_"
    return out


def rust_str(s: str) -> str:
    """A Rust string literal for `s`."""
    if "\\" in s and "\n" not in s:
        hashes = ""
        while f'"{hashes}' in s:
            hashes += "#"
        return f'r{hashes}"{s}"{hashes}'
    out = []
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def doc_line(documentation: str | None, fallback: str) -> str:
    """The first sentence of model documentation as plain text, at most ~200 characters."""
    text = re.sub(r"<[^>]+>", " ", documentation or "")
    text = " ".join(html.unescape(text).split())
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z(<`])", text)
    if m:
        text = text[: m.start()]
    if len(text) > 200:
        cut = text.rfind(" ", 0, 197)
        text = text[: cut if cut > 0 else 197].rstrip(",;: ") + "…"
    if not text:
        text = fallback
    for c in "\\[]<>":
        text = text.replace(c, "\\" + c)
    return text


# ---------------------------------------------------------------------------------------------
# Model


@dataclass
class Model:
    spec: ServiceSpec
    raw: dict
    shapes: dict
    operations: list  # the typed operations
    all_operations: list  # every operation name of the model, sorted
    exceptions: set
    table_ids: dict  # shape name -> ShapeId (index in the table)
    named_types: dict  # shape name -> Rust type name (structures and enums)
    boxed_edges: set  # (structure, member) pairs that need a Box
    std: dict = field(default_factory=dict)  # std name -> how to spell it in this module

    @property
    def protocol(self) -> str:
        return self.raw["metadata"]["protocol"]

    @property
    def is_rest(self) -> bool:
        return self.protocol == "rest-json"


def load_model(spec: ServiceSpec) -> Model:
    raw = Loader().load_service_model(spec.module, "service-2")
    proto = raw["metadata"]["protocol"]
    if proto not in ("json", "rest-json"):
        raise SystemExit(f"{spec.module}: unsupported protocol {proto}")
    shapes = raw["shapes"]
    exceptions = {n for n, s in shapes.items() if s.get("exception")}
    all_operations = sorted(raw["operations"])
    operations = sorted(raw["operations"].values(), key=lambda o: o["name"])
    if spec.typed_operations is not None:
        unknown = set(spec.typed_operations) - set(all_operations)
        if unknown:
            raise SystemExit(f"{spec.module}: typed operations not in the model: {unknown}")
        operations = [o for o in operations if o["name"] in spec.typed_operations]

    # The table holds every non-exception shape reachable from an operation.
    reachable: set[str] = set()

    def walk(name: str) -> None:
        if name in reachable or name in exceptions:
            return
        reachable.add(name)
        s = shapes[name]
        for m in s.get("members", {}).values():
            walk(m["shape"])
        for k in ("member", "key", "value"):
            if k in s:
                walk(s[k]["shape"])

    for op in operations:
        for k in ("input", "output"):
            if k in op:
                walk(op[k]["shape"])
    table_ids = {n: i for i, n in enumerate(sorted(reachable))}
    if len(table_ids) > 0xFFFF:
        raise SystemExit(f"{spec.module}: too many shapes for a u16 ShapeId")

    named_types = {}
    for n, s in shapes.items():
        if n in exceptions:
            continue
        if spec.typed_operations is not None and n not in reachable:
            continue
        if s["type"] == "structure" or (s["type"] == "string" and "enum" in s):
            named_types[n] = n
    clashes = RESERVED_ITEMS & set(named_types) | ({spec.trait} & set(named_types))
    if clashes:
        raise SystemExit(f"{spec.module}: shape names clash with generated items: {clashes}")
    for n in named_types:
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", n):
            raise SystemExit(f"{spec.module}: shape name {n!r} is not a Rust type name")

    model = Model(
        spec=spec,
        raw=raw,
        shapes=shapes,
        operations=operations,
        all_operations=all_operations,
        exceptions=exceptions,
        table_ids=table_ids,
        named_types=named_types,
        boxed_edges=recursive_edges(shapes, exceptions),
    )
    model.std = {k: (v if k in named_types else k) for k, v in STD_PATHS.items()}
    return model


def recursive_edges(shapes: dict, exceptions: set) -> set:
    """Structure members that close a cycle of direct (not list/map) containment: they need a
    `Box`. Found with Tarjan's strongly connected components."""
    graph: dict[str, list[tuple[str, str]]] = {}
    for n, s in shapes.items():
        if s["type"] != "structure" or n in exceptions:
            continue
        graph[n] = [
            (mname, m["shape"])
            for mname, m in s["members"].items()
            if shapes[m["shape"]]["type"] == "structure"
        ]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comp: dict[str, int] = {}
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for _, w in graph.get(v, []):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp[w] = index[v]
                if w == v:
                    break

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return {
        (v, mname)
        for v, edges in graph.items()
        for mname, w in edges
        if comp.get(v) == comp.get(w)
    }


# ---------------------------------------------------------------------------------------------
# Rust types


def rust_type(model: Model, shape_name: str) -> str:
    s = model.shapes[shape_name]
    t = s["type"]
    std = model.std
    if shape_name in model.named_types:
        return model.named_types[shape_name]
    if t == "string":
        return std["String"]
    if t == "integer":
        return "i32"
    if t == "long":
        return "i64"
    if t in ("double", "float"):
        return "f64"
    if t == "boolean":
        return "bool"
    if t == "timestamp":
        return "::ferry_types::Timestamp"
    if t == "blob":
        return "::ferry_types::Blob"
    if t == "list":
        return f"{std['Vec']}<{rust_type(model, s['member']['shape'])}>"
    if t == "map":
        value = rust_type(model, s["value"]["shape"])
        return f"::std::collections::BTreeMap<{std['String']}, {value}>"
    raise SystemExit(f"{model.spec.module}: unsupported shape type {t} ({shape_name})")


def gen_struct(model: Model, name: str, out: list[str]) -> None:
    s = model.shapes[name]
    required = set(s.get("required", []))
    std = model.std
    out.append(f"/// {doc_line(s.get('documentation'), f'The `{name}` structure.')}")
    out.append(
        "#[derive(Debug, Clone, PartialEq, Default, ::serde::Serialize, ::serde::Deserialize)]"
    )
    out.append(f"pub struct {name} {{")
    used: set[str] = set()
    for mname, m in s["members"].items():
        ident = field_ident(mname)
        base = ident
        n = 2
        while ident in used:
            ident = f"{base}_{n}"
            n += 1
        used.add(ident)
        ty = rust_type(model, m["shape"])
        if (name, mname) in model.boxed_edges:
            ty = f"{std['Box']}<{ty}>"
        if mname in required:
            out.append(f"    #[serde(rename = {rust_str(mname)})]")
            out.append(f"    pub {ident}: {ty},")
        else:
            out.append(
                f"    #[serde(rename = {rust_str(mname)}, default, "
                f'skip_serializing_if = "{std["Option"]}::is_none")]'
            )
            out.append(f"    pub {ident}: {std['Option']}<{ty}>,")
    out.append("}")
    out.append("")


def gen_enum(model: Model, name: str, out: list[str]) -> None:
    s = model.shapes[name]
    values = list(s["enum"])
    variants = []
    used: set[str] = set()
    for v in values:
        ident = variant_ident(v)
        base, n = ident, 2
        while ident in used:
            ident = f"{base}{n}"
            n += 1
        used.add(ident)
        variants.append(ident)
    std = model.std
    out.append(f"/// {doc_line(s.get('documentation'), f'The `{name}` values.')}")
    out.append(
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, "
        "::serde::Serialize, ::serde::Deserialize)]"
    )
    out.append(f"pub enum {name} {{")
    for i, (v, ident) in enumerate(zip(values, variants)):
        if i == 0:
            out.append("    #[default]")
        out.append(f"    #[serde(rename = {rust_str(v)})]")
        out.append(f"    {ident},")
    out.append("}")
    out.append("")
    out.append(f"impl {name} {{")
    out.append("    /// The value on the wire.")
    out.append("    pub fn as_str(&self) -> &'static str {")
    out.append("        match self {")
    for v, ident in zip(values, variants):
        out.append(f"            Self::{ident} => {rust_str(v)},")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// The variant for a value on the wire.")
    out.append(f"    pub fn parse(value: &str) -> {std['Option']}<Self> {{")
    out.append("        match value {")
    for v, ident in zip(values, variants):
        out.append(f"            {rust_str(v)} => Some(Self::{ident}),")
    out.append(f"            _ => None,")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append(f"impl ::std::fmt::Display for {name} {{")
    out.append("    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {")
    out.append("        f.write_str(self.as_str())")
    out.append("    }")
    out.append("}")
    out.append("")


# ---------------------------------------------------------------------------------------------
# Operations: trait, Request/Response, dispatch


@dataclass
class Op:
    name: str
    method_name: str
    input: str | None  # Rust type
    output: str | None
    doc: str


def ops_of(model: Model) -> list[Op]:
    ops = []
    for o in model.operations:
        ops.append(
            Op(
                name=o["name"],
                method_name=field_ident(o["name"]),
                input=o["input"]["shape"] if "input" in o else None,
                output=o["output"]["shape"] if "output" in o else None,
                doc=doc_line(o.get("documentation"), f"The `{o['name']}` operation."),
            )
        )
    return ops


def gen_trait(model: Model, ops: list[Op], out: list[str]) -> None:
    spec = model.spec
    std = model.std
    out.append(f"/// The {spec.title} API. Every method answers `NotImplementedException` until a")
    out.append("/// service crate overrides it (with an `async fn`).")
    out.append(f"pub trait {spec.trait}: {std['Send']} + {std['Sync']} + 'static {{")
    for op in ops:
        args = "&self, ctx: &::ferry_wire::RequestContext"
        if op.input:
            args += f", input: {op.input}"
        output = op.output or "()"
        out.append(f"    /// {op.doc}")
        out.append(
            f"    fn {op.method_name}({args}) -> impl ::std::future::Future<Output = "
            f"{std['Result']}<{output}, ::ferry_wire::AwsError>> + {std['Send']} {{"
        )
        out.append("        async move {")
        out.append("            let _ = (ctx, input);" if op.input else "            let _ = ctx;")
        out.append(
            "            Err(::ferry_wire::AwsError::not_implemented("
            f"{rust_str(spec.module)}, {rust_str(op.name)}))"
        )
        out.append("        }")
        out.append("    }")
        out.append("")
    out.append("}")
    out.append("")


def gen_request_response(model: Model, ops: list[Op], out: list[str]) -> None:
    std = model.std
    res = std["Result"]
    err = "::ferry_wire::AwsError"
    # Request
    out.append("/// The typed input of one operation.")
    out.append("#[derive(Debug, Clone, PartialEq)]")
    out.append("pub enum Request {")
    for op in ops:
        out.append(f"    {op.name}({op.input})," if op.input else f"    {op.name},")
    out.append("}")
    out.append("")
    out.append("impl Request {")
    out.append("    /// The operation name.")
    out.append("    pub fn operation(&self) -> &'static str {")
    out.append("        match self {")
    for op in ops:
        pat = f"Self::{op.name}(_)" if op.input else f"Self::{op.name}"
        out.append(f"            {pat} => {rust_str(op.name)},")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// Types a validated input object of `operation`.")
    any_input = any(op.input for op in ops)
    arg = "input" if any_input else "_input"
    out.append(
        f"    pub fn from_value(operation: &str, {arg}: ::serde_json::Value) -> {res}<Self, {err}> {{"
    )
    if any_input:
        out.append("        use ::ferry_wire::validate::from_value as de;")
    out.append("        match operation {")
    for op in ops:
        if op.input:
            out.append(f"            {rust_str(op.name)} => de(input).map(Self::{op.name}),")
        else:
            out.append(f"            {rust_str(op.name)} => Ok(Self::{op.name}),")
    out.append(
        f"            _ => Err({err}::new(\"UnknownOperationException\", "
        "::std::format!(\"Unknown operation {operation}\"))),"
    )
    out.append("        }")
    out.append("    }")
    out.append("")
    if model.is_rest:
        out.append("    /// Decodes, validates and types a REST-JSON request routed to `op`.")
        out.append("    pub fn decode_rest(")
        out.append("        op: &::ferry_wire::shape::Operation,")
        out.append("        query: &str,")
        out.append(f"        headers: &[({std['String']}, {std['String']})],")
        out.append("        body: &[u8],")
        out.append(f"    ) -> {res}<Self, {err}> {{")
        out.append(
            "        let input = ::ferry_wire::rest::request_to_json(&SERVICE, op, query, headers, body)?;"
        )
        out.append("        ::ferry_wire::validate::validate(&SERVICE, op, &input)?;")
        out.append("        Self::from_value(op.name, input)")
        out.append("    }")
    else:
        out.append("    /// Decodes, validates and types a JSON 1.1 request body for `operation`.")
        out.append(f"    pub fn decode(operation: &str, body: &[u8]) -> {res}<Self, {err}> {{")
        out.append(
            "        let (op, input) = ::ferry_wire::validate::decode_json_request(&SERVICE, operation, body)?;"
        )
        out.append("        Self::from_value(op.name, input)")
        out.append("    }")
    out.append("}")
    out.append("")

    # Response
    out.append("/// The typed output of one operation.")
    out.append("#[derive(Debug, Clone, PartialEq)]")
    out.append("pub enum Response {")
    for op in ops:
        out.append(f"    {op.name}({op.output})," if op.output else f"    {op.name},")
    out.append("}")
    out.append("")
    out.append("impl Response {")
    units = [op for op in ops if not op.output]
    if model.is_rest:
        out.append("    /// The output as a JSON value.")
        out.append(f"    pub fn to_value(&self) -> {res}<::serde_json::Value, {err}> {{")
        out.append("        match self {")
        for op in ops:
            if op.output:
                out.append(
                    f"            Self::{op.name}(o) => ::serde_json::to_value(o).map_err({err}::internal),"
                )
        if units:
            pats = " | ".join(f"Self::{op.name}" for op in units)
            out.append(
                f"            {pats} => Ok(::serde_json::Value::Object(::serde_json::Map::new())),"
            )
        out.append("        }")
        out.append("    }")
        out.append("")
        out.append("    /// The HTTP answer for `op` (headers, payload or JSON body).")
        out.append(
            "    pub fn to_rest(&self, op: &::ferry_wire::shape::Operation) -> "
            f"{res}<::ferry_wire::rest::RestResponse, {err}> {{"
        )
        out.append("        let output = self.to_value()?;")
        out.append("        Ok(::ferry_wire::rest::json_to_response(&SERVICE, op, output))")
        out.append("    }")
    else:
        out.append("    /// The JSON 1.1 response body (`{}` for an operation without output).")
        out.append(f"    pub fn to_json(&self) -> {res}<{std['Vec']}<u8>, {err}> {{")
        out.append("        match self {")
        for op in ops:
            if op.output:
                out.append(
                    f"            Self::{op.name}(o) => ::serde_json::to_vec(o).map_err({err}::internal),"
                )
        if units:
            pats = " | ".join(f"Self::{op.name}" for op in units)
            out.append(f"            {pats} => Ok(b\"{{}}\".to_vec()),")
        out.append("        }")
        out.append("    }")
    out.append("}")
    out.append("")


def gen_dispatch(model: Model, ops: list[Op], out: list[str]) -> None:
    spec = model.spec
    std = model.std
    res = std["Result"]
    err = "::ferry_wire::AwsError"
    ctx = "::ferry_wire::RequestContext"
    out.append("/// Calls the handler method for a typed request.")
    out.append(
        f"pub async fn call<H: {spec.trait}>(h: &H, ctx: &{ctx}, request: Request) -> "
        f"{res}<Response, {err}> {{"
    )
    out.append(f"    Ok(match request {{")
    for op in ops:
        pat = f"Request::{op.name}(input)" if op.input else f"Request::{op.name}"
        args = "ctx, input" if op.input else "ctx"
        call = f"h.{op.method_name}({args}).await?"
        if op.output:
            out.append(f"        {pat} => Response::{op.name}({call}),")
        else:
            out.append(f"        {pat} => {{")
            out.append(f"            {call};")
            out.append(f"            Response::{op.name}")
            out.append("        }")
    out.append("    })")
    out.append("}")
    out.append("")
    if model.is_rest:
        out.append("/// Serves one REST-JSON request already routed to `op` (see `ferry_wire::rest::route`):")
        out.append("/// binds and validates the input, calls the handler, and renders the answer. Handler")
        out.append("/// errors that keep the default status 400 get the status the model gives their code.")
        out.append(f"pub async fn dispatch<H: {spec.trait}>(")
        out.append("    h: &H,")
        out.append(f"    ctx: &{ctx},")
        out.append("    op: &::ferry_wire::shape::Operation,")
        out.append("    query: &str,")
        out.append(f"    headers: &[({std['String']}, {std['String']})],")
        out.append("    body: &[u8],")
        out.append(f") -> {res}<::ferry_wire::rest::RestResponse, {err}> {{")
        out.append("    let request = Request::decode_rest(op, query, headers, body)?;")
        out.append(
            "    let response = call(h, ctx, request).await.map_err(|e| SERVICE.with_error_status(e))?;"
        )
        out.append("    response.to_rest(op)")
        out.append("}")
    else:
        out.append("/// Serves one JSON 1.1 request for `operation` (the `X-Amz-Target` suffix): decodes and")
        out.append("/// validates the body, calls the handler, and returns the response body. Handler errors")
        out.append("/// that keep the default status 400 get the status the model gives their code.")
        out.append(f"pub async fn dispatch<H: {spec.trait}>(")
        out.append("    h: &H,")
        out.append(f"    ctx: &{ctx},")
        out.append("    operation: &str,")
        out.append("    body: &[u8],")
        out.append(f") -> {res}<{std['Vec']}<u8>, {err}> {{")
        if spec.typed_operations is not None:
            out.append("    if !TYPED_OPERATIONS.contains(&operation) && OPERATIONS.contains(&operation) {")
            out.append(f"        return Err({err}::not_implemented({rust_str(spec.module)}, operation));")
            out.append("    }")
        out.append("    let request = Request::decode(operation, body)?;")
        out.append(
            "    let response = call(h, ctx, request).await.map_err(|e| SERVICE.with_error_status(e))?;"
        )
        out.append("    response.to_json()")
        out.append("}")
    out.append("")


# ---------------------------------------------------------------------------------------------
# Tables


def opt(v) -> str:
    return "None" if v is None else f"Some({v})"


def shape_kind(model: Model, name: str) -> str:
    s = model.shapes[name]
    t = s["type"]
    ids = model.table_ids
    if t == "structure":
        raise AssertionError("structures are rendered by gen_tables")
    if t == "list":
        return f"K::List {{ member: {ids[s['member']['shape']]}, min: {opt(s.get('min'))}, max: {opt(s.get('max'))} }}"
    if t == "map":
        return (
            f"K::Map {{ key: {ids[s['key']['shape']]}, value: {ids[s['value']['shape']]}, "
            f"min: {opt(s.get('min'))}, max: {opt(s.get('max'))} }}"
        )
    if t == "string":
        pattern = f"Some({rust_str(s['pattern'])})" if "pattern" in s else "None"
        enum = ", ".join(rust_str(v) for v in s.get("enum", []))
        return (
            f"K::String {{ min: {opt(s.get('min'))}, max: {opt(s.get('max'))}, "
            f"pattern: {pattern}, enum_values: &[{enum}] }}"
        )
    if t == "integer":
        return f"K::Integer {{ min: {opt(s.get('min'))}, max: {opt(s.get('max'))} }}"
    if t == "long":
        return f"K::Long {{ min: {opt(s.get('min'))}, max: {opt(s.get('max'))} }}"
    if t in ("double", "float"):
        return "K::Double"
    if t == "boolean":
        return "K::Boolean"
    if t == "timestamp":
        return "K::Timestamp"
    if t == "blob":
        return f"K::Blob {{ min: {opt(s.get('min'))}, max: {opt(s.get('max'))} }}"
    raise SystemExit(f"{model.spec.module}: unsupported shape type {t} ({name})")


def member_expr(model: Model, struct: dict, mname: str, m: dict) -> str:
    e = f"M::new({rust_str(mname)}, {model.table_ids[m['shape']]})"
    if mname in struct.get("required", []):
        e += ".req()"
    loc = m.get("location")
    if struct.get("payload") == mname:
        e += ".at(Payload)"
    elif loc == "querystring":
        e += f".at(Query({rust_str(m.get('locationName', mname))}))"
    elif loc == "header":
        e += f".at(Header({rust_str(m.get('locationName', mname))}))"
    elif loc == "uri":
        e += f".at(Uri({rust_str(m.get('locationName', mname))}))"
    elif loc is not None:
        raise SystemExit(f"{model.spec.module}: unsupported member location {loc}")
    if m.get("idempotencyToken"):
        e += ".token()"
    return e


def error_status(shape: dict) -> int:
    status = shape.get("error", {}).get("httpStatusCode")
    if status:
        return int(status)
    return 500 if shape.get("fault") else 400


def gen_tables(model: Model, out: list[str]) -> None:
    raw = model.raw
    meta = raw["metadata"]
    spec = model.spec
    ids = model.table_ids
    out.append("/// The model tables, as data.")
    out.append("mod tables {")
    locations = set()
    for name in ids:
        s = model.shapes[name]
        for mname, m in s.get("members", {}).items():
            expr = member_expr(model, s, mname, m)
            for loc in ("Header", "Payload", "Query", "Uri"):
                if f".at({loc}" in expr:
                    locations.add(loc)
    if locations:
        out.append(f"    use ::ferry_wire::shape::Location::{{{', '.join(sorted(locations))}}};")
    out.append("    use ::ferry_wire::shape::{")
    out.append("        ErrorShape as E, Member as M, Operation as O, Protocol, Service, Shape as S,")
    out.append("        ShapeKind as K,")
    out.append("    };")
    out.append("")
    protocol = "Protocol::RestJson" if model.is_rest else "Protocol::Json11"
    signing = meta.get("signingName", meta["endpointPrefix"])
    out.append(f"    /// The {spec.title} model tables.")
    out.append("    #[rustfmt::skip]")
    out.append("    pub static SERVICE: Service = Service {")
    out.append(f"        name: {rust_str(spec.module)},")
    out.append(f"        signing_name: {rust_str(signing)},")
    out.append(f"        target_prefix: {rust_str(meta.get('targetPrefix', ''))},")
    out.append(f"        protocol: {protocol},")
    out.append(f"        validation_exception: {rust_str(spec.validation_exception)},")
    out.append("        operations: OPERATIONS,")
    out.append("        shapes: SHAPES,")
    out.append("        errors: ERRORS,")
    out.append("    };")
    out.append("")
    out.append("    #[rustfmt::skip]")
    out.append("    static OPERATIONS: &[O] = &[")
    for o in model.operations:
        uri = o["http"]["requestUri"].split("?", 1)[0]
        inp = opt(ids[o["input"]["shape"]]) if "input" in o else "None"
        outp = opt(ids[o["output"]["shape"]]) if "output" in o else "None"
        errs = ", ".join(rust_str(e["shape"]) for e in sorted(o.get("errors", []), key=lambda e: e["shape"]))
        out.append(
            f"        O {{ name: {rust_str(o['name'])}, method: {rust_str(o['http']['method'])}, "
            f"request_uri: {rust_str(uri)}, input: {inp}, output: {outp}, errors: &[{errs}] }},"
        )
    out.append("    ];")
    out.append("")
    out.append("    #[rustfmt::skip]")
    out.append("    static SHAPES: &[S] = &[")
    for name in sorted(ids, key=lambda n: ids[n]):
        s = model.shapes[name]
        prefix = f"        /* {ids[name]} */ S {{ name: {rust_str(name)}, kind: "
        if s["type"] == "structure":
            members = list(s["members"].items())
            if not members:
                out.append(prefix + "K::Structure(&[]) },")
                continue
            out.append(prefix + "K::Structure(&[")
            for mname, m in members:
                out.append(f"            {member_expr(model, s, mname, m)},")
            out.append("        ]) },")
        else:
            out.append(prefix + shape_kind(model, name) + " },")
    out.append("    ];")
    out.append("")
    out.append("    #[rustfmt::skip]")
    out.append("    static ERRORS: &[E] = &[")
    for name in sorted(model.exceptions):
        out.append(f"        E {{ name: {rust_str(name)}, status: {error_status(model.shapes[name])} }},")
    out.append("    ];")
    out.append("}")
    out.append("")


# ---------------------------------------------------------------------------------------------
# Files


def gen_service(model: Model) -> str:
    spec = model.spec
    meta = model.raw["metadata"]
    ops = ops_of(model)
    proto = "REST-JSON" if model.is_rest else "JSON 1.1"
    out: list[str] = []
    out.append(
        f"//! {spec.title} (`{spec.module}`, {proto}, API {meta['apiVersion']}): the input and output"
    )
    out.append("//! types, the model tables (`SERVICE`), the handler trait with not-implemented defaults,")
    out.append("//! the `Request`/`Response` enums and `dispatch`.")
    if spec.typed_operations is not None:
        out.append("//! Only the operations in `TYPED_OPERATIONS` (and the shapes they reach) are typed.")
    out.append("//!")
    out.append(f"//! Generated by `{GENERATOR}` from botocore {BOTOCORE_VERSION}; do not edit by hand.")
    out.append("")
    out.append("pub use tables::SERVICE;")
    out.append("")
    out.append("/// Every operation name, sorted.")
    out.append("pub const OPERATIONS: &[&str] = &[")
    for name in model.all_operations:
        out.append(f"    {rust_str(name)},")
    out.append("];")
    out.append("")
    if spec.typed_operations is not None:
        out.append("/// The operations this module types; the rest of `OPERATIONS` answer")
        out.append("/// `NotImplementedException` without being decoded.")
        out.append("pub const TYPED_OPERATIONS: &[&str] = &[")
        for op in ops:
            out.append(f"    {rust_str(op.name)},")
        out.append("];")
        out.append("")
    gen_trait(model, ops, out)
    gen_request_response(model, ops, out)
    gen_dispatch(model, ops, out)
    for name in sorted(model.named_types):
        if model.shapes[name]["type"] == "structure":
            gen_struct(model, name, out)
        else:
            gen_enum(model, name, out)
    gen_tables(model, out)
    return "\n".join(out)


def gen_lib() -> str:
    out = [
        f"//! Ferry's AWS wire model, generated by `{GENERATOR}` from the botocore {BOTOCORE_VERSION}",
        "//! service models of CodeCommit, CodeBuild, CodeDeploy, CodePipeline and CodeArtifact, and",
        "//! of the companion services CloudWatch Logs, SSM (Parameter Store) and Secrets Manager.",
        "//! Do not edit by hand: change the generator and rerun it; `--check` fails on drift.",
        "//!",
        "//! Each service module holds the input/output structures and enums, `SERVICE` (the model",
        "//! tables `ferry_wire::validate` and `ferry_wire::rest` walk), `OPERATIONS`, a handler trait",
        "//! whose methods answer `NotImplementedException` until overridden, `Request`/`Response`",
        "//! (the typed input/output of any operation), `call` and `dispatch`.",
        "",
        "// One variant per operation; the enums of a model repeat its prefixes.",
        "#![allow(clippy::large_enum_variant, clippy::enum_variant_names)]",
        "",
    ]
    for spec in SERVICES:
        out.append(f"pub mod {spec.module};")
    out.append("")
    return "\n".join(out)


def generate() -> dict[str, str]:
    if botocore.__version__ != BOTOCORE_VERSION:
        raise SystemExit(
            f"botocore {botocore.__version__} is installed; the model is pinned to {BOTOCORE_VERSION}"
        )
    files = {"lib.rs": gen_lib()}
    for spec in SERVICES:
        files[f"{spec.module}.rs"] = gen_service(load_model(spec))
    return files


def formatted(files: dict[str, str]) -> dict[str, str]:
    """Runs rustfmt on the files in a scratch directory inside the workspace (so the same
    rustfmt configuration applies as for `cargo fmt`) and returns the formatted texts."""
    scratch_parent = ROOT / "target"
    scratch_parent.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="codegen-", dir=scratch_parent))
    try:
        for name, text in files.items():
            (scratch / name).write_text(text, encoding="utf-8")
        subprocess.run(["rustfmt", "--edition", "2024", str(scratch / "lib.rs")], check=True)
        return {name: (scratch / name).read_text(encoding="utf-8") for name in files}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed files differ from the output"
    )
    args = parser.parse_args()
    files = formatted(generate())
    if args.check:
        differing = []
        for name, text in files.items():
            path = CRATE_SRC / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differing.append(path.relative_to(ROOT))
        for p in differing:
            print(f"{p} differs from the generator's output; run python3 {GENERATOR}", file=sys.stderr)
        return 1 if differing else 0
    CRATE_SRC.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = CRATE_SRC / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Graph files built in code: ``snnsim.Graph`` and one class per type of the file format.

The classes are not written here: they are generated at import time from the JSON Schema
that the Rust serde types of the format derive (``_snnsim._schema()``, from
src/file/schema.rs). A field added in Rust is therefore a keyword here, with the same name,
without a second list to keep in step, and a shape of schema this generator does not know is
an error at import instead of a silently missing field.

Every class takes the fields of its Rust type as keywords (positionally too, in the Rust
field order): ``Lif(tau_m_ms=20.0)``, ``FixedProbability(0.02)``, ``Uniform(-60.0, -50.0)``.
An unknown keyword is a ``TypeError`` naming the valid ones, a missing required field too.
Fields left out stay out of the file, so the Rust defaults apply. Where the format expects an
``Init``, a plain number is a ``Constant``; where it expects a variant without data, its name
is enough (``receptor="Inh"``); a dict is a map (``init={"v": Uniform(-60.0, -50.0)}``) or a
struct (``environment={"plugin": "cartpole"}``).

``Graph.to_ron()`` writes the file's own notation (``Lif(tau_m_ms: 20.0)``), floats as
Python's ``repr`` so that they read back exactly. Reading stays in Rust, the format's one
parser: ``Graph.load`` takes the parsed file back as JSON and drops the fields equal to their
defaults.
"""

import inspect as _inspect
import json as _json
import math as _math
import numbers as _numbers
import os as _os

from . import _snnsim

#: The JSON Schema of a graph file, from the Rust types.
SCHEMA = _json.loads(_snnsim._schema())
#: The graph-file format version this build reads and writes.
FORMAT_VERSION = SCHEMA["x-format-version"]
_DEFS = SCHEMA["$defs"]

#: Lines of ``to_ron()`` are kept within this width where the nesting allows.
_WIDTH = 96


class SchemaError(RuntimeError):
    """The Rust schema has a shape this module cannot turn into classes (a bug in snnsim)."""


# ---------------------------------------------------------------------------------------------
# RON text


def _ron_float(x):
    if _math.isnan(x):
        return "NaN"
    if _math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _ron_str(s):
    out = []
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


class _Group:
    """A bracketed list of items (``prefix``, node) that is written on one line when it fits,
    otherwise one item per line (or, with ``fill``, as many atoms per line as fit)."""

    __slots__ = ("open", "items", "close", "fill", "flat")

    def __init__(self, open_, items, close, fill=False):
        self.open, self.items, self.close, self.fill = open_, items, close, fill
        self.flat = open_ + ", ".join(p + _flat(n) for p, n in items) + close


def _flat(node):
    return node if isinstance(node, str) else node.flat


def _render(node, col, indent, force=False):
    flat = _flat(node)
    if isinstance(node, str) or not node.items:
        return flat
    if not force and col + len(flat) <= _WIDTH and "\n" not in flat:
        return flat
    pad = " " * (indent + 4)
    lines = [node.open]
    if node.fill:
        line = pad
        for p, n in node.items:
            piece = p + _flat(n) + ","
            if line != pad and len(line) + 1 + len(piece) > _WIDTH:
                lines.append(line)
                line = pad
            line += ("" if line == pad else " ") + piece
        lines.append(line)
    else:
        for p, n in node.items:
            lines.append(pad + p + _render(n, indent + 4 + len(p), indent + 4) + ",")
    lines.append(" " * indent + node.close)
    return "\n".join(lines)


def _generic_ron(value, where):
    """Plugin parameters given as Python values instead of RON text."""
    if isinstance(value, str):
        return _ron_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _numbers.Integral):
        return str(int(value))
    if isinstance(value, _numbers.Real):
        return _ron_float(value)
    if isinstance(value, dict):
        for k in value:
            if not (isinstance(k, str) and k.isidentifier()):
                raise TypeError(f"{where}: a parameter name must be an identifier, got {k!r}")
        inner = ", ".join(f"{k}: {_generic_ron(v, f'{where}.{k}')}" for k, v in value.items())
        return f"({inner})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_generic_ron(v, where) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_generic_ron(v, where) for v in value) + "]"
    if value is None:
        return "None"
    raise TypeError(f"{where}: cannot write {value!r} as RON")


# ---------------------------------------------------------------------------------------------
# Field types: check and normalise a Python value, write it as RON, read it from the JSON of a
# parsed file.


def _got(value):
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_sequence(value):
    return not isinstance(value, (str, bytes, dict, Spec)) and hasattr(value, "__iter__")


class _Type:
    optional = False

    def load(self, j, where):
        return self.convert(j, where)

    def canon(self, value):
        """The value as the JSON of the parsed file has it (defaults filled in)."""
        return value


class _Number(_Type):
    describe = "float"

    def convert(self, value, where):
        if isinstance(value, bool) or not isinstance(value, _numbers.Real):
            raise TypeError(f"{where}: expected a number, got {_got(value)}")
        return float(value)

    def load(self, j, where):
        if j is None:
            raise ValueError(f"{where}: a number that is not finite cannot be loaded")
        return float(j)

    def node(self, value):
        return _ron_float(value)


class _Integer(_Type):
    def __init__(self, minimum):
        self.minimum = minimum
        self.describe = "int" if minimum is None else f"int >= {minimum}"
        self.what = "an integer" if minimum is None else f"an integer >= {minimum}"

    def convert(self, value, where):
        if isinstance(value, bool) or not isinstance(value, _numbers.Integral):
            raise TypeError(f"{where}: expected {self.what}, got {_got(value)}")
        value = int(value)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{where}: expected {self.what}, got {value}")
        return value

    def node(self, value):
        return str(value)


class _String(_Type):
    describe = "str"

    def convert(self, value, where):
        if not isinstance(value, str):
            raise TypeError(f"{where}: expected a string, got {_got(value)}")
        return value

    def node(self, value):
        return _ron_str(value)


class _RawRon(_Type):
    """A value the format passes on as written (a plugin's parameters): RON text, or Python
    values (dicts become RON structs) written as RON here."""

    describe = "RON text or a dict"

    def convert(self, value, where):
        if isinstance(value, str):
            return value
        return _generic_ron(value, where)

    def node(self, value):
        return value


class _Bool(_Type):
    describe = "bool"

    def convert(self, value, where):
        if type(value).__name__ not in ("bool", "bool_"):
            raise TypeError(f"{where}: expected True or False, got {_got(value)}")
        return bool(value)

    def node(self, value):
        return "true" if value else "false"


class _Optional(_Type):
    """An ``Option`` of the format: ``None`` leaves the field out."""

    optional = True

    def __init__(self, inner):
        self.inner = inner
        self.describe = inner.describe

    def convert(self, value, where):
        return None if value is None else self.inner.convert(value, where)

    def load(self, j, where):
        return None if j is None else self.inner.load(j, where)

    def canon(self, value):
        return None if value is None else self.inner.canon(value)

    def node(self, value):
        return self.inner.node(value)


class _List(_Type):
    def __init__(self, item):
        self.item = item
        self.describe = f"list[{item.describe.split(' (')[0]}]"

    def convert(self, value, where):
        if not _is_sequence(value):
            raise TypeError(f"{where}: expected a list ({self.describe}), got {_got(value)}")
        return [self.item.convert(v, f"{where}[{i}]") for i, v in enumerate(value)]

    def load(self, j, where):
        return [self.item.load(v, f"{where}[{i}]") for i, v in enumerate(j)]

    def canon(self, value):
        return [self.item.canon(v) for v in value]

    def node(self, value):
        items = [("", self.item.node(v)) for v in value]
        return _Group("[", items, "]", fill=all(isinstance(n, str) for _, n in items))


class _Tuple(_Type):
    def __init__(self, items):
        self.items = items
        self.describe = f"tuple[{', '.join(t.describe.split(' (')[0] for t in items)}]"

    def convert(self, value, where):
        if not _is_sequence(value):
            raise TypeError(f"{where}: expected a tuple ({self.describe}), got {_got(value)}")
        value = list(value)
        if len(value) != len(self.items):
            raise TypeError(f"{where}: expected {len(self.items)} values, got {len(value)}")
        return tuple(t.convert(v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(self.items, value)))

    def load(self, j, where):
        return tuple(t.load(v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(self.items, j)))

    def canon(self, value):
        return [t.canon(v) for t, v in zip(self.items, value)]

    def node(self, value):
        return "(" + ", ".join(_flat(t.node(v)) for t, v in zip(self.items, value)) + ")"


class _Map(_Type):
    def __init__(self, value):
        self.value = value
        self.describe = f"dict[str, {value.describe.split(' (')[0]}]"

    def convert(self, value, where):
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected a dict ({self.describe}), got {_got(value)}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: a key must be a string, got {_got(k)}")
            out[k] = self.value.convert(v, f"{where}[{k!r}]")
        return out

    def load(self, j, where):
        return {k: self.value.load(v, f"{where}[{k!r}]") for k, v in j.items()}

    def canon(self, value):
        return {k: self.value.canon(v) for k, v in value.items()}

    def node(self, value):
        return _Group("{", [(_ron_str(k) + ": ", self.value.node(v)) for k, v in value.items()], "}")


class _Struct(_Type):
    """A struct of the format (``PopulationSpec``, ...): an instance of its class, or a dict
    of its fields."""

    def __init__(self, cls):
        self.cls = cls
        self.describe = cls.__name__

    def convert(self, value, where):
        if isinstance(value, self.cls):
            return value
        if isinstance(value, dict):
            try:
                return self.cls(**value)
            except TypeError as e:
                raise TypeError(f"{where}: {e}") from None
        raise TypeError(f"{where}: expected a {self.describe} (or a dict of its fields), got {_got(value)}")

    def load(self, j, where):
        return self.cls._load(j, where)

    def canon(self, value):
        return value._canon()

    def node(self, value):
        return value._node()


class _Enum(_Type):
    """An enum of the format: an instance of one of its variant classes; the name of a variant
    without required fields; a plain value for the variant that wraps one (a number is a
    ``Constant``)."""

    def __init__(self, base):
        self.base = base
        self.describe = f"{base.__name__} ({', '.join(base.variants)})"

    def convert(self, value, where):
        base = self.base
        if isinstance(value, base):
            return value
        if isinstance(value, str):
            cls = base.variants.get(value)
            if cls is not None and not cls._required:
                return cls()
            names = [n for n, c in base.variants.items() if not c._required]
            raise TypeError(
                f"{where}: {value!r} is not a {base.__name__} without data; "
                f"expected one of {', '.join(names)} or an instance of {', '.join(base.variants)}"
            )
        for cls in base.variants.values():
            if cls._kind == "value" and not isinstance(cls._types["value"], (_Struct, _Enum)):
                try:
                    return cls(value)
                except (TypeError, ValueError):
                    pass
        raise TypeError(f"{where}: expected a {self.describe}, got {_got(value)}")

    def load(self, j, where):
        if isinstance(j, str):
            return self.base.variants[j]()
        ((name, payload),) = j.items()
        cls = self.base.variants[name]
        if cls._kind == "value":
            return cls(cls._types["value"].load(payload, f"{where}.{name}"))
        return cls._load(payload, f"{where}.{name}")

    def canon(self, value):
        return value._canon()

    def node(self, value):
        return value._node()


# ---------------------------------------------------------------------------------------------
# The classes


class Spec:
    """Base of every generated class: a value of the file format with named fields.

    Only the fields given are stored; ``spec.field`` is ``None`` for one left out (its Rust
    default applies), and ``del spec.field`` leaves it out again. Two values are equal when
    they mean the same thing in a file: a field left out equals its default.
    """

    __slots__ = ("_values",)
    #: The Rust name (``PopulationSpec``, ``ModelSpec::Lif``).
    _rust = None
    #: The field names, in the Rust order.
    _fields = ()
    #: Field name → type.
    _types = {}
    _required = frozenset()
    #: Field name → default as JSON (for fields that have one).
    _defaults = {}
    #: ``"struct"``, or for a variant: ``"unit"``, ``"fields"``, ``"value"``.
    _kind = "struct"
    #: How many fields may be given positionally: all of them, in the Rust order, unless a
    #: required field follows an optional one (then keywords only).
    _positional = 0

    def __init__(self, *args, **kwargs):
        cls = type(self)
        if len(args) > cls._positional:
            if not cls._fields:
                raise TypeError(f"{cls.__name__}() takes no arguments")
            if not cls._positional:
                raise TypeError(f"{cls.__name__}() takes keyword arguments only")
            raise TypeError(
                f"{cls.__name__}() takes at most {cls._positional} positional arguments "
                f"({', '.join(cls._fields)}), got {len(args)}"
            )
        given = dict(zip(cls._fields, args))
        for k, v in kwargs.items():
            if k not in cls._types:
                raise TypeError(
                    f"{cls.__name__}() got an unexpected keyword argument {k!r}; "
                    f"its fields are: {', '.join(cls._fields) or 'none'}"
                )
            if k in given:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {k!r}")
            given[k] = v
        missing = [f for f in cls._fields if f in cls._required and given.get(f) is None]
        if missing:
            raise TypeError(
                f"{cls.__name__}() missing required field{'s' if len(missing) > 1 else ''}: "
                + ", ".join(missing)
            )
        values = {}
        for f in cls._fields:
            v = given.get(f)
            if v is not None:
                values[f] = cls._types[f].convert(v, f"{cls.__name__}.{f}")
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name):
        cls = type(self)
        if name in cls._types:
            return self._values.get(name)
        raise AttributeError(
            f"{cls.__name__} has no field {name!r}; its fields are: {', '.join(cls._fields) or 'none'}"
        )

    def __setattr__(self, name, value):
        cls = type(self)
        if name not in cls._types:
            raise AttributeError(
                f"{cls.__name__} has no field {name!r}; its fields are: {', '.join(cls._fields) or 'none'}"
            )
        if value is None:
            if name in cls._required:
                raise TypeError(f"{cls.__name__}.{name} is required")
            self._values.pop(name, None)
        else:
            self._values[name] = cls._types[name].convert(value, f"{cls.__name__}.{name}")

    def __delattr__(self, name):
        self.__setattr__(name, None)

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return self._values == other._values or self._canon() == other._canon()

    __hash__ = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"

    def __reduce__(self):
        return (_rebuild, (type(self), dict(self._values)))

    def fields(self):
        """The fields given, as a dict in the Rust order (defaults left out)."""
        return dict(self._values)

    def _body(self):
        """The ``name: value`` items of the fields given, checked again (lists may have been
        changed in place)."""
        cls = type(self)
        for f in cls._required:
            if self._values.get(f) is None:
                raise TypeError(f"{cls.__name__}.{f} is required")
        items = []
        for f in cls._fields:
            if f not in self._values:
                continue
            t = cls._types[f]
            v = t.convert(self._values[f], f"{cls.__name__}.{f}")
            if v == [] and cls._defaults.get(f) == []:
                continue
            items.append((f + ": ", t.node(v)))
        return items

    def _node(self):
        return _Group("(", self._body(), ")")

    def _canon(self):
        """The fields as the JSON of the parsed file has them: every default filled in."""
        cls = type(self)
        out = {}
        for f in cls._fields:
            t = cls._types[f]
            if f in self._values:
                out[f] = t.canon(self._values[f])
            elif f in cls._defaults:
                out[f] = t.canon(t.load(cls._defaults[f], f"{cls.__name__}.{f}"))
            else:
                out[f] = None
        return out

    @classmethod
    def _load(cls, j, where):
        values = {}
        for k, v in j.items():
            if k not in cls._types:
                raise SchemaError(f"{where}: the parsed file has a field {k!r} that {cls.__name__} lacks")
            if k in cls._defaults and _same(v, cls._defaults[k]):
                continue
            v = cls._types[k].load(v, f"{where}.{k}")
            if v is not None:
                values[k] = v
        return _rebuild(cls, values)


class Variant(Spec):
    """Base of the variant classes of an enum of the format (``Lif``, ``Uniform``, ...)."""

    __slots__ = ()
    #: Variant name → class, on each enum's base class.
    variants = {}

    def __init__(self, *args, **kwargs):
        if type(self)._kind is None:
            raise TypeError(
                f"{type(self).__name__} is an enum: use one of its variants, "
                + ", ".join(type(self).variants)
            )
        super().__init__(*args, **kwargs)

    def __eq__(self, other):
        if isinstance(other, str):  # a variant without data and its name
            return type(self)._kind == "unit" and type(self)._variant == other
        return super().__eq__(other)

    __hash__ = None

    def _node(self):
        cls = type(self)
        if cls._kind == "unit":
            return cls._variant
        if cls._kind == "value":
            v = cls._types["value"].convert(self._values["value"], f"{cls.__name__}.value")
            return _Group(cls._variant + "(", [("", cls._types["value"].node(v))], ")")
        return _Group(cls._variant + "(", self._body(), ")")

    def _canon(self):
        cls = type(self)
        if cls._kind == "unit":
            return cls._variant
        if cls._kind == "value":
            return {cls._variant: cls._types["value"].canon(self._values["value"])}
        return {cls._variant: super()._canon()}


def _rebuild(cls, values):
    obj = object.__new__(cls)
    object.__setattr__(obj, "_values", values)
    return obj


def _same(a, b):
    return _json.dumps(a, sort_keys=True) == _json.dumps(b, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Generation from the schema

#: Every generated class by its Rust name: structs (``PopulationSpec``), enums (``Init``) and
#: variants (``Init::Uniform``).
TYPES = {}
_NAMED = {}
#: Structs that are the data of an enum variant (``LifParams`` of ``Lif``): users write the
#: variant, so they are not exported.
_PAYLOADS = set()


def _ref_name(schema):
    ref = schema["$ref"]
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise SchemaError(f"unsupported reference {ref!r}")
    return ref[len(prefix):]


def _type_of(schema, where):
    if "$ref" in schema:
        return _named(_ref_name(schema))
    if "anyOf" in schema:
        arms = schema["anyOf"]
        real = [a for a in arms if a != {"type": "null"}]
        if len(arms) == 2 and len(real) == 1:
            return _Optional(_type_of(real[0], where))
        raise SchemaError(f"{where}: unsupported anyOf {arms}")
    if "oneOf" in schema or "enum" in schema:
        raise SchemaError(f"{where}: an enum outside $defs is not supported")
    t = schema.get("type")
    if isinstance(t, list):
        real = [x for x in t if x != "null"]
        if len(t) == 2 and len(real) == 1:
            return _Optional(_type_of(dict(schema, type=real[0]), where))
        raise SchemaError(f"{where}: unsupported type {t}")
    if t == "number":
        return _Number()
    if t == "integer":
        return _Integer(schema.get("minimum"))
    if t == "string":
        return _RawRon() if schema.get("x-raw-ron") else _String()
    if t == "boolean":
        return _Bool()
    if t == "array":
        if "prefixItems" in schema:
            return _Tuple([_type_of(s, f"{where}[]") for s in schema["prefixItems"]])
        if "items" in schema:
            return _List(_type_of(schema["items"], f"{where}[]"))
    if t == "object" and "properties" not in schema and isinstance(
        schema.get("additionalProperties"), dict
    ):
        return _Map(_type_of(schema["additionalProperties"], f"{where}{{}}"))
    raise SchemaError(f"{where}: unsupported schema {schema}")


def _is_struct(schema):
    return schema.get("type") == "object" and (
        "properties" in schema or schema.get("additionalProperties") is False
    )


def _doc(*parts):
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _fields_of(schema, owner):
    """Field names, types, required set, defaults and docs of a struct schema."""
    if schema.get("additionalProperties") is not False:
        raise SchemaError(f"{owner}: a struct of the format must deny unknown fields")
    props = schema.get("properties", {})
    types, defaults, lines = {}, {}, []
    for name, fs in props.items():
        types[name] = _type_of(fs, f"{owner}.{name}")
        if "default" in fs:
            defaults[name] = fs["default"]
    required = frozenset(schema.get("required", ()))
    for name, fs in props.items():
        what = types[name].describe
        default = defaults.get(name)
        note = "required" if name in required else (
            "optional" if default is None else f"default {_json.dumps(default, ensure_ascii=False)}"
        )
        desc = " ".join(fs.get("description", "").split())
        lines.append(f"    {name}: {what}; {note}. {desc}".rstrip())
    return tuple(props), types, required, defaults, lines


def _make_class(name, bases, rust, doc, fields=(), types=None, required=frozenset(),
                defaults=None, kind="struct", qualname=None, extra=None):
    ns = {
        "__slots__": (),
        "__doc__": doc,
        "__module__": __name__,
        "_rust": rust,
        "_fields": fields,
        "_types": types or {},
        "_required": required,
        "_defaults": defaults or {},
        "_kind": kind,
    }
    ns.update(extra or {})
    cls = type(name, bases, ns)
    cls.__qualname__ = qualname or name
    params = [
        _inspect.Parameter(
            f,
            _inspect.Parameter.POSITIONAL_OR_KEYWORD,
            **({} if f in required else {"default": None}),
        )
        for f in fields
    ]
    try:
        cls.__signature__ = _inspect.Signature(params)
        cls._positional = len(fields)
    except ValueError:  # a required field after an optional one: keywords then
        cls.__signature__ = _inspect.Signature(
            [p.replace(kind=_inspect.Parameter.KEYWORD_ONLY) for p in params]
        )
    for f in fields:
        if hasattr(cls, f):
            raise SchemaError(f"{rust}: the field {f!r} clashes with an attribute of the class")
    TYPES[rust] = cls
    return cls


def _struct_class(name, schema, bases=(Spec,)):
    fields, types, required, defaults, lines = _fields_of(schema, name)
    doc = _doc(schema.get("description"), "Fields:\n" + "\n".join(lines) if lines else "")
    return _make_class(name, bases, name, doc, fields, types, required, defaults)


def _enum_class(name, schema):
    base = _make_class(name, (Variant,), name, _doc(schema.get("description")), kind=None)
    base.variants = {}
    arms = schema.get("oneOf") or [{"type": "string", "enum": schema["enum"]}]
    for arm in arms:
        desc = arm.get("description")
        if arm.get("type") == "string":
            names = [arm["const"]] if "const" in arm else arm.get("enum", [])
            for v in names:
                _variant(base, v, "unit", desc)
            continue
        props = arm.get("properties", {})
        if arm.get("type") != "object" or len(props) != 1 or arm.get("required") != list(props):
            raise SchemaError(f"{name}: unsupported variant {arm}")
        ((v, payload),) = props.items()
        target = _DEFS[_ref_name(payload)] if "$ref" in payload else payload
        if _is_struct(target):
            if "$ref" in payload:
                _PAYLOADS.add(_ref_name(payload))
            fields, types, required, defaults, lines = _fields_of(target, f"{name}::{v}")
            doc = _doc(desc, target.get("description"), "Fields:\n" + "\n".join(lines) if lines else "")
            _variant(base, v, "fields", doc, fields, types, required, defaults)
        else:
            t = _type_of(payload, f"{name}::{v}")
            doc = _doc(desc, f"Fields:\n    value: {t.describe}; required.")
            _variant(base, v, "value", doc, ("value",), {"value": t}, frozenset(["value"]))
    return base


def _variant(base, v, kind, doc, fields=(), types=None, required=frozenset(), defaults=None):
    if v in base.variants:
        raise SchemaError(f"{base.__name__}: variant {v} twice")
    cls = _make_class(
        v, (base,), f"{base.__name__}::{v}", doc, fields, types, required, defaults, kind,
        qualname=f"{base.__name__}.{v}", extra={"_variant": v},
    )
    base.variants[v] = cls
    if hasattr(base, v):
        raise SchemaError(f"{base.__name__}: the variant {v} clashes with an attribute")
    setattr(base, v, cls)


def _named(name):
    if name in _NAMED:
        return _NAMED[name]
    schema = _DEFS[name]
    if "oneOf" in schema or "enum" in schema:
        t = _Enum.__new__(_Enum)
        # Registered (and named) before its variants are built, for recursive types such as
        # a Chain connectivity's steps.
        t.describe = name
        _NAMED[name] = t
        t.__init__(_enum_class(name, schema))
    elif _is_struct(schema):
        t = _Struct.__new__(_Struct)
        t.describe = name
        _NAMED[name] = t
        t.__init__(_struct_class(name, schema))
    else:
        t = _type_of(schema, name)
        _NAMED[name] = t
    return t


_GraphFile = _struct_class(SCHEMA.get("title", "GraphFile"), SCHEMA)
for _name in _DEFS:  # every type, also one not reachable from the file (none is today)
    _named(_name)


def _name_of(population):
    return population.name if isinstance(population, TYPES["PopulationSpec"]) else population


class Graph(_GraphFile):
    """A graph file built in code: the fields of the file's top level as keywords
    (``Graph(dt_ms=0.1, duration_ms=1000.0, seed=1)``; ``format_version`` is this build's),
    then ``population``, ``project``, ``stimulus``/``dc`` and ``record`` add the rest, and
    attributes set the others (``graph.task = Control(...)``). ``to_ron()``/``save(path)``
    write it; ``snnsim.Simulation(graph)`` runs it.
    """

    __slots__ = ()

    def __init__(self, **fields):
        cls = type(self)
        fields.setdefault("format_version", FORMAT_VERSION)
        for f in cls._fields:
            if isinstance(cls._types[f], _List) and (
                f in cls._required or cls._defaults.get(f) == []
            ):
                fields.setdefault(f, [])
        super().__init__(**fields)

    def population(self, name, size, model, init=None, **fields):
        """Adds a population (``PopulationSpec``) and returns it."""
        spec = TYPES["PopulationSpec"](name=name, size=size, model=model, init=init, **fields)
        self.populations.append(spec)
        return spec

    def project(self, pre, post, **fields):
        """Adds a projection from ``pre`` to ``post`` (names, or the populations
        ``population`` returned) and returns it; keywords are ``ProjectionSpec``'s fields."""
        spec = TYPES["ProjectionSpec"](pre=_name_of(pre), post=_name_of(post), **fields)
        self.projections.append(spec)
        return spec

    def stimulus(self, *stimuli):
        """Adds stimuli (``Dc(...)``)."""
        for s in stimuli:
            self.stimuli.append(_named("StimulusSpec").convert(s, "Graph.stimuli[]"))
        return self

    def dc(self, target, amplitude_na, **fields):
        """Adds a ``Dc`` stimulus and returns it."""
        spec = TYPES["StimulusSpec::Dc"](target=_name_of(target), amplitude_na=amplitude_na, **fields)
        self.stimuli.append(spec)
        return spec

    def record(self, *recorders):
        """Adds recorders (``Spikes("exc")``, ``State(...)``, ``Weights(...)``)."""
        for r in recorders:
            self.recorders.append(_named("RecorderSpec").convert(r, "Graph.recorders[]"))
        return self

    def to_ron(self):
        """The graph file's text (RON), in the notation of the shipped files."""
        return _render(self._node(), 0, 0, force=True) + "\n"

    def save(self, path):
        """Writes ``to_ron()`` to ``path``; returns the path."""
        text = self.to_ron()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def validate(self):
        """Validates the graph as ``snnsim validate`` does a file; raises ``GraphFileError``
        (its line and column are in ``to_ron()``'s text)."""
        _snnsim._validate_ron(self.to_ron())

    @classmethod
    def load(cls, path):
        """Reads a graph file (parsed, not validated); fields equal to their default are left
        out. Raises ``GraphFileError`` naming the line, column and field of a fault."""
        path = _os.fspath(path)
        return cls._from_json(_snnsim._parse_graph(path), path)

    @classmethod
    def from_ron(cls, text, label="<graph>"):
        """As ``load``, from RON text."""
        return cls._from_json(_snnsim._parse_graph_ron(text, label), label)

    @classmethod
    def from_nir(cls, path, dt_ms=None, reset="zero"):
        """Reads a NIR file (``snnsim convert IN.nir OUT.ron``): the graph file that runs it,
        with snnTorch's importer's discretisation at time step ``dt_ms`` (``None``: the one
        snnsim wrote into the file, else 0.1 ms, snnTorch's 1e-4 s) and the reset NIR
        leaves open (``"zero"`` or ``"subtract"``), docs/nir.md. Raises ``InputError`` naming
        the node and parameter of a fault, ``FileNotFoundError`` for a missing file."""
        path = _os.fspath(path)
        return cls.from_ron(_snnsim._nir_to_ron(path, dt_ms, reset), path)

    def to_nir(self, path):
        """Writes the graph as a NIR file (``snnsim convert IN.ron OUT.nir``) after validating
        it; a model NIR cannot express is refused by name (``InputError``). Returns the path."""
        _snnsim._ron_to_nir(self.to_ron(), _os.fspath(path))
        return path

    @classmethod
    def _from_json(cls, text, where):
        loaded = _GraphFile._load(_json.loads(text), where)
        graph = _rebuild(cls, {})
        for f in cls._fields:
            if f in loaded._values:
                graph._values[f] = loaded._values[f]
            elif isinstance(cls._types[f], _List) and cls._defaults.get(f) == []:
                graph._values[f] = []
        return graph


Graph.__signature__ = _inspect.Signature(
    [
        _inspect.Parameter(
            f,
            _inspect.Parameter.KEYWORD_ONLY,
            **(
                {}
                if f in Graph._required
                and f != "format_version"
                and not isinstance(Graph._types[f], _List)
                else {"default": FORMAT_VERSION if f == "format_version" else None}
            ),
        )
        for f in Graph._fields
    ]
)
TYPES["GraphFile"] = _GraphFile
for _f in Graph._fields:
    if _f in vars(Graph):
        raise SchemaError(f"GraphFile: the field {_f!r} clashes with a method of Graph")


def _exports():
    names = {"Graph": Graph}
    for rust, cls in TYPES.items():
        if rust == "GraphFile" or "::" in rust or rust in _PAYLOADS:
            continue
        names[rust] = cls
    # The variants of enums with data are the names users write (Lif, FixedProbability,
    # Uniform, Dc, Spikes); a variant whose name two enums share stays reachable through its
    # enum only (Enum.Variant).
    counts = {}
    for rust, cls in TYPES.items():
        if "::" in rust:
            counts[cls.__name__] = counts.get(cls.__name__, 0) + 1
    for rust, cls in TYPES.items():
        if "::" not in rust:
            continue
        base = cls.__mro__[1]
        if all(c._kind == "unit" for c in base.variants.values()):
            continue
        if counts[cls.__name__] == 1 and cls.__name__ not in names:
            names[cls.__name__] = cls
    # `snnsim.Agent` is the trained policy (`Agent.load`); the task variant stays
    # `snnsim.TaskSpec.Agent`.
    for taken in _PACKAGE_NAMES:
        names.pop(taken, None)
    return names


#: Names the package itself defines, which a variant of the same name does not take.
_PACKAGE_NAMES = ("Agent",)


_EXPORTS = _exports()
globals().update(_EXPORTS)
#: The names ``snnsim`` exports from here; ``Spec``, ``Variant``, ``TYPES``, ``SCHEMA`` and
#: ``FORMAT_VERSION`` stay in ``snnsim.graph``.
__all__ = sorted(_EXPORTS)

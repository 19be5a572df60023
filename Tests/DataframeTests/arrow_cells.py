"""Cell rendering shared by the DataframeTests scripts: pyarrow values as `ArrowArray.jsonValue(at:options: .integers)`
renders them (temporal values as their integers, bytes as "0x" + hex, non-finite floats as "nan"/"inf"/"-inf",
decimals and other scalars as Python `str()`, map entries and tuples as lists), so a test compares them after parsing
both sides.
"""

import math

import pyarrow as pa


def integer_type(t):
    """`t` with every temporal type replaced by the integer type of its storage."""
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t) or pa.types.is_time64(t):
        return pa.int64()
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        return pa.int32()
    if pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable), t.list_size)
    if pa.types.is_large_list(t):
        return pa.large_list(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable))
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, integer_type(f.type), f.nullable) for f in t])
    return t


def plain(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return str(v)

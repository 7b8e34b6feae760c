"""The query guard: what a script may say to MongoDB.

Operators that run code on the server, write elsewhere or read other
collections are refused by name (PermissionDenied), wherever they hide;
anything else off the allowlist is refused as unknown (ParamError), with a
suggestion when one is close. Depth, size and regular expressions are capped.
"""

from __future__ import annotations

import re

import bson
import pytest

from noderuntime.errors import ParamError, PermissionDenied
from noderuntime.store.guard import (
    DENIED,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_REGEX_LENGTH,
    UPDATE_OPERATORS,
    check_document,
    check_filter,
    check_options,
    check_path,
    check_projection,
    check_regex,
    check_sort,
    check_update,
    compile_regex,
    is_operator_update,
)

RUNS_JS = "runs JavaScript on the database server and is not allowed"
#: What an author is told about each refused name.
REFUSAL = {name: f"{name} {reason} and is not allowed" for name, reason in DENIED.items()}
#: The refused names that look like operators (``mapReduce`` is a command, refused as an option).
DENIED_OPERATORS = sorted(name for name in DENIED if name.startswith("$"))


def nested(levels: int, leaf=1) -> dict:
    """``{"a": {"a": ... leaf}}`` with ``levels`` objects."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def refused(error_type, message):
    """``pytest.raises`` for exactly ``message``."""
    return pytest.raises(error_type, match=f"^{re.escape(message)}$")


# Filters: what passes ----------------------------------------------------------


def test_check_filter_of_none_is_an_empty_filter():
    assert check_filter(None) == {}


def test_check_filter_returns_the_filter_it_was_given():
    query = {"name": "x", "age": {"$gte": 18, "$lt": 65}, "tags": {"$in": ["a", "b"]}}
    assert check_filter(query) is query


@pytest.mark.parametrize(
    "query",
    [
        {"$and": [{"a": 1}, {"b": {"$exists": True}}]},
        {"$or": [{"a": {"$ne": 1}}, {"$nor": [{"b": 2}]}]},
        {"items": {"$elemMatch": {"qty": {"$gt": 1}, "sku": "x"}}},
        {"scores": {"$elemMatch": {"$gt": 80, "$lt": 90}}},
        {"name": {"$not": {"$regex": "^a"}}},
        {"$expr": {"$gt": [{"$add": ["$a", 1]}, "$b"]}},
        {"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [1, 2]}, "$maxDistance": 10}}},
        {"loc": {"$geoWithin": {"$centerSphere": [[1, 2], 0.1]}}},
        {"$text": {"$search": "coffee", "$language": "en", "$caseSensitive": False}},
        {"$comment": "why", "n": {"$mod": [2, 0]}, "flags": {"$bitsAllSet": 3}},
        {"profile": {"name": "x", "age": 3}},
        {"tags": ["a", "b"]},
    ],
    ids=[
        "and",
        "or-nor",
        "elemMatch-query",
        "elemMatch-operators",
        "not-regex",
        "expr",
        "near",
        "geoWithin",
        "text",
        "comment-mod-bits",
        "sub-document",
        "array",
    ],
)
def test_check_filter_accepts_allowed_operators(query):
    assert check_filter(query) is query


# Filters: denied operators, wherever they are ----------------------------------


@pytest.mark.parametrize("operator", DENIED_OPERATORS)
def test_check_filter_refuses_a_denied_operator_at_the_top_level_by_name(operator):
    with refused(PermissionDenied, f"filter: {REFUSAL[operator]}"):
        check_filter({operator: "x"})


def test_check_filter_refuses_where_saying_it_runs_javascript():
    with refused(PermissionDenied, f"filter: $where {RUNS_JS}"):
        check_filter({"$where": "this.a == 1"})


@pytest.mark.parametrize(
    ("query", "operator"),
    [
        ({"$expr": {"$function": {"body": "f", "args": [], "lang": "js"}}}, "$function"),
        ({"$expr": {"$gt": [{"$function": {"body": "f"}}, 1]}}, "$function"),
        ({"$expr": {"$sum": [{"$accumulator": {"init": "f"}}]}}, "$accumulator"),
        ({"$and": [{"a": 1}, {"$where": "x"}]}, "$where"),
        ({"$or": [{"a": 1}, {"$and": [{"$where": "x"}]}]}, "$where"),
        ({"$nor": [{"$jsonSchema": {}}]}, "$jsonSchema"),
        ({"a": {"$where": "x"}}, "$where"),
        ({"a": {"$elemMatch": {"b": {"$where": "x"}}}}, "$where"),
        ({"a": {"$elemMatch": {"$where": "x"}}}, "$where"),
        ({"a": {"$not": {"$where": "x"}}}, "$where"),
        ({"a": {"$not": {"b": {"$lookup": {}}}}}, "$lookup"),
        ({"a": {"b": {"$where": "x"}}}, "$where"),
        ({"a": {"b": {"c": [{"$out": "other"}]}}}, "$out"),
        ({"a": [{"$merge": "other"}]}, "$merge"),
        ({"a": {"$in": [{"$graphLookup": {}}]}}, "$graphLookup"),
        ({"a": {"$eq": {"$unionWith": "other"}}}, "$unionWith"),
        ({"$text": {"$search": "x", "$where": "y"}}, "$where"),
    ],
    ids=[
        "function-in-expr",
        "function-deep-in-expr",
        "accumulator-in-expr",
        "inside-and",
        "inside-or-and",
        "inside-nor",
        "as-field-operator",
        "inside-elemMatch-query",
        "inside-elemMatch-operators",
        "inside-not",
        "inside-not-query",
        "inside-equality-sub-document",
        "inside-array-in-sub-document",
        "inside-equality-array",
        "inside-in-list",
        "inside-eq-operand",
        "inside-text",
    ],
)
def test_check_filter_refuses_a_denied_operator_nested_anywhere(query, operator):
    with refused(PermissionDenied, f"filter: {REFUSAL[operator]}"):
        check_filter(query)


def test_check_filter_names_the_place_it_was_given():
    with refused(PermissionDenied, f"query.where: $where {RUNS_JS}"):
        check_filter({"$where": "x"}, "query.where")


# Filters: unknown operators and malformed conditions ----------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"a": {"$regx": "x"}}, "filter: unknown operator $regx; did you mean $regex?"),
        ({"a": {"$exist": True}}, "filter: unknown operator $exist; did you mean $exists?"),
        ({"$ands": [{"a": 1}]}, "filter: unknown operator $ands; did you mean $and?"),
        ({"$expr": {"$sumx": ["$a"]}}, "filter: unknown operator $sumx; did you mean $sum?"),
        ({"a": {"b": {"$inn": [1]}}}, "filter: unknown operator $inn; did you mean $in?"),
        ({"a": {"$zzzz": 1}}, "filter: unknown operator $zzzz"),
        ({"$zzzz": 1}, "filter: unknown operator $zzzz"),
    ],
    ids=["regex", "exists", "and", "expr-sum", "in-sub-document", "no-suggestion", "top-no-suggestion"],
)
def test_check_filter_refuses_an_unknown_operator_with_a_suggestion(query, message):
    with refused(ParamError, message):
        check_filter(query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("name", "filter must be an object"),
        ([{"a": 1}], "filter must be an object"),
        ({"$and": []}, "filter: $and takes a non-empty array of conditions"),
        ({"$or": {"a": 1}}, "filter: $or takes a non-empty array of conditions"),
        ({"$nor": ["a"]}, "filter: each condition in $nor must be an object"),
        ({"a": {"$gt": 1, "b": 2}}, "filter: cannot mix operators and fields in one condition (b)"),
        ({"a": {"$in": 1}}, "filter: $in takes an array"),
        ({"a": {"$nin": "x"}}, "filter: $nin takes an array"),
        ({"a": {"$all": {"x": 1}}}, "filter: $all takes an array"),
    ],
    ids=["string", "array", "empty-and", "or-object", "nor-string", "mixed", "in", "nin", "all"],
)
def test_check_filter_refuses_a_malformed_filter(query, message):
    with refused(ParamError, message):
        check_filter(query)


# Depth and size caps --------------------------------------------------------------


def test_check_filter_accepts_max_depth_levels_of_nesting():
    query = nested(MAX_DEPTH)
    assert check_filter(query) is query


def test_check_filter_refuses_one_level_more_than_max_depth():
    with refused(ParamError, f"filter is nested more than {MAX_DEPTH} levels deep"):
        check_filter(nested(MAX_DEPTH + 1))


def test_check_filter_counts_arrays_as_levels_of_nesting():
    value = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    with refused(ParamError, f"filter is nested more than {MAX_DEPTH} levels deep"):
        check_filter({"a": value})


def test_check_filter_counts_logical_operators_as_levels_of_nesting():
    query = {"a": 1}
    for _ in range(MAX_DEPTH + 1):
        query = {"$and": [query]}
    with refused(ParamError, f"filter is nested more than {MAX_DEPTH} levels deep"):
        check_filter(query)


def test_check_filter_refuses_very_deep_nesting_as_a_param_error():
    with refused(ParamError, f"filter is nested more than {MAX_DEPTH} levels deep"):
        check_filter(nested(5000))


def test_check_document_refuses_very_deep_nesting_as_a_param_error():
    with refused(ParamError, f"document is nested more than {MAX_DEPTH} levels deep"):
        check_document(nested(5000))


def test_check_update_refuses_very_deep_nesting_as_a_param_error():
    with refused(ParamError, f"patch is nested more than {MAX_DEPTH} levels deep"):
        check_update({"$set": {"a": nested(5000)}})


def _of_encoded_size(size: int) -> dict:
    # {"a": "<text>"}: 4 (length) + 1 (type) + 2 ("a\0") + 4 (string length) + text + 1 (\0) + 1 (end).
    document = {"a": "x" * (size - 13)}
    assert len(bson.encode(document)) == size
    return document


def test_check_filter_accepts_a_filter_of_exactly_the_size_limit():
    query = _of_encoded_size(MAX_DOCUMENT_BYTES)
    assert check_filter(query) is query


def test_check_filter_refuses_a_filter_over_the_size_limit_saying_how_big_it_is():
    with refused(ParamError, f"filter is {MAX_DOCUMENT_BYTES + 1} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes"):
        check_filter(_of_encoded_size(MAX_DOCUMENT_BYTES + 1))


def test_check_document_refuses_a_document_over_the_size_limit():
    with refused(ParamError, f"document is {MAX_DOCUMENT_BYTES + 1} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes"):
        check_document(_of_encoded_size(MAX_DOCUMENT_BYTES + 1))


def test_check_update_refuses_an_update_over_the_size_limit():
    update = {"$set": {"a": "x" * MAX_DOCUMENT_BYTES}}
    size = len(bson.encode(update))
    with refused(ParamError, f"patch is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes"):
        check_update(update)


# Regular expressions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "options"),
    [("^ab+c$", None), ("(?:x|y)\\d{2,4}", "i"), ("[[:alpha:]]+", "ims"), ("a.*b", ""), ("^\\pL+$", "m")],
    ids=["anchored", "group-and-class", "posix-class", "no-options", "unicode-class"],
)
def test_check_regex_accepts_what_re2_compiles(pattern, options):
    assert check_regex(pattern, options) is None


def test_check_filter_accepts_a_regex_with_options():
    query = {"name": {"$regex": "^jo", "$options": "im"}}
    assert check_filter(query) is query


@pytest.mark.parametrize(
    ("pattern", "detail"),
    [
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("a(?=b)", "invalid perl operator: (?="),
        ("a(?!b)", "invalid perl operator: (?!"),
        ("(?<=a)b", "invalid perl operator: (?<="),
        ("(?<!a)b", "invalid perl operator: (?<!"),
    ],
    ids=["backreference", "lookahead", "negative-lookahead", "lookbehind", "negative-lookbehind"],
)
def test_check_regex_refuses_backreferences_and_lookarounds(pattern, detail):
    message = f"filter: $regex {pattern!r} is not supported: {detail} (backreferences and lookarounds are not allowed)"
    with refused(ParamError, message):
        check_regex(pattern, None)


def test_check_filter_refuses_a_lookaround_regex_inside_not():
    with pytest.raises(ParamError, match=r"^filter: \$regex 'a\(\?=b\)' is not supported: "):
        check_filter({"name": {"$not": {"$regex": "a(?=b)"}}})


def test_check_filter_refuses_a_backreference_inside_elem_match():
    with pytest.raises(ParamError, match=r"^filter: \$regex '\(a\)\\\\1' is not supported: "):
        check_filter({"tags": {"$elemMatch": {"$regex": "(a)\\1"}}})


def test_check_regex_accepts_a_pattern_of_exactly_the_length_limit():
    assert check_regex("a" * MAX_REGEX_LENGTH, None) is None


def test_check_regex_refuses_an_over_long_pattern():
    length = MAX_REGEX_LENGTH + 1
    with refused(ParamError, f"filter: $regex is {length} characters long; the limit is {MAX_REGEX_LENGTH}"):
        check_regex("a" * length, None)


@pytest.mark.parametrize("options", ["x", "iu", "g", 1, ["i"]])
def test_check_regex_refuses_options_other_than_i_m_s(options):
    with refused(ParamError, "filter: $options may only combine the letters i, m and s"):
        check_regex("a", options)


def test_check_filter_refuses_bad_regex_options():
    with refused(ParamError, "filter: $options may only combine the letters i, m and s"):
        check_filter({"name": {"$regex": "a", "$options": "x"}})


def test_check_filter_refuses_options_without_regex():
    with refused(ParamError, "filter: $options needs $regex"):
        check_filter({"name": {"$options": "i"}})


@pytest.mark.parametrize("pattern", [1, None, {"$regex": "a"}])
def test_check_regex_refuses_a_pattern_that_is_not_text(pattern):
    with refused(ParamError, "filter: $regex takes a string"):
        check_regex(pattern, None)


def test_compile_regex_with_i_matches_case_insensitively():
    assert compile_regex("abc", "i").search("xABCx") is not None
    assert compile_regex("abc").search("xABCx") is None


def test_compile_regex_with_m_anchors_at_each_line():
    assert compile_regex("^b", "m").search("a\nb") is not None
    assert compile_regex("^b").search("a\nb") is None


def test_compile_regex_with_s_lets_dot_match_a_newline():
    assert compile_regex("a.b", "s").search("a\nb") is not None
    assert compile_regex("a.b").search("a\nb") is None


def test_compile_regex_runs_a_catastrophic_pattern_in_linear_time():
    # With a backtracking engine this takes longer than the age of the universe.
    assert compile_regex("(a+)+$").search("a" * 50_000 + "b") is None


# Updates ----------------------------------------------------------------------------

#: One valid update per allowed operator.
VALID_UPDATES = {
    "$set": {"$set": {"a": 1, "b.c": [1, {"d": 2}]}},
    "$unset": {"$unset": {"a": ""}},
    "$inc": {"$inc": {"n": 1}},
    "$mul": {"$mul": {"n": 2}},
    "$min": {"$min": {"n": 0}},
    "$max": {"$max": {"n": 9}},
    "$rename": {"$rename": {"a": "b.c"}},
    "$push": {"$push": {"tags": {"$each": ["x", "y"], "$position": 0, "$slice": -5, "$sort": 1}}},
    "$pull": {"$pull": {"items": {"qty": {"$lt": 1}}}},
    "$pullAll": {"$pullAll": {"tags": ["a", "b"]}},
    "$addToSet": {"$addToSet": {"tags": {"$each": ["x"]}}},
    "$pop": {"$pop": {"tags": -1}},
    "$currentDate": {"$currentDate": {"seenAt": True, "at": {"$type": "date"}, "ts": {"$type": "timestamp"}}},
    "$setOnInsert": {"$setOnInsert": {"createdAt": 1}},
}


def test_every_update_operator_has_a_valid_example():
    assert set(VALID_UPDATES) == UPDATE_OPERATORS


@pytest.mark.parametrize("operator", sorted(VALID_UPDATES))
def test_check_update_accepts_each_allowed_operator(operator):
    update = VALID_UPDATES[operator]
    assert check_update(update) is update


@pytest.mark.parametrize(
    "update",
    [
        {"$pull": {"tags": {"$in": ["a", "b"]}}},
        {"$pull": {"tags": "a"}},
        {"$push": {"log": {"at": 1, "what": "x"}}},
        {"$addToSet": {"tags": "x"}},
        {"$push": {"scores": {"$each": [{"score": 3}], "$sort": {"score": -1}, "$slice": 3}}},
    ],
    ids=["pull-condition", "pull-value", "push-document", "addToSet-value", "push-sort-by-field"],
)
def test_check_update_accepts_plain_values_and_conditions(update):
    assert check_update(update) is update


@pytest.mark.parametrize(
    "path",
    ["items.$.qty", "items.$[].qty", "items.$[elem].qty", "grid.$[row].$[col]"],
)
def test_check_update_accepts_positional_paths(path):
    update = {"$set": {path: 1}}
    assert check_update(update) is update


@pytest.mark.parametrize(
    ("update", "operator"),
    [
        ({"$where": {"a": 1}}, "$where"),
        ({"$out": {"a": 1}}, "$out"),
        ({"$set": {"a": {"$where": "x"}}}, "$where"),
        ({"$set": {"a": [{"b": {"$function": {}}}]}}, "$function"),
        ({"$set": {"$merge": 1}}, "$merge"),
        ({"$set": {"a.$lookup": 1}}, "$lookup"),
        ({"$rename": {"a": "$out"}}, "$out"),
        ({"$pull": {"items": {"$where": "x"}}}, "$where"),
        ({"$pull": {"items": {"qty": {"$function": {}}}}}, "$function"),
        ({"$pull": {"items": {"$elemMatch": {"$accumulator": {}}}}}, "$accumulator"),
        ({"$push": {"tags": {"$each": [1], "$out": "other"}}}, "$out"),
        ({"$addToSet": {"tags": {"$each": [1], "$where": "x"}}}, "$where"),
        ({"$push": {"tags": {"$each": [{"$lookup": {}}]}}}, "$lookup"),
        ({"$push": {"tags": {"$each": [1], "$sort": {"$where": 1}}}}, "$where"),
        ({"$push": {"tags": {"$where": "x"}}}, "$where"),
    ],
    ids=[
        "where-as-update-operator",
        "out-as-update-operator",
        "in-set-value",
        "deep-in-set-value",
        "as-set-path",
        "as-path-segment",
        "as-rename-target",
        "pull-condition",
        "pull-query",
        "pull-elemMatch",
        "push-modifier",
        "addToSet-modifier",
        "in-each-values",
        "in-sort-modifier",
        "push-value",
    ],
)
def test_check_update_refuses_a_denied_operator_anywhere(update, operator):
    with refused(PermissionDenied, f"patch: {REFUSAL[operator]}"):
        check_update(update)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"$sett": {"a": 1}}, "patch: unknown operator $sett; did you mean $set?"),
        ({"$incr": {"a": 1}}, "patch: unknown operator $incr; did you mean $inc?"),
        ({"$zzzz": {"a": 1}}, "patch: unknown operator $zzzz"),
        ({"$push": {"a": {"$each": [1], "$slices": 2}}}, "patch: unknown operator $slices; did you mean $slice?"),
        ({"$push": {"a": {"$each": [1], "b": 2}}}, "patch: unknown operator b"),
        ({"$pull": {"a": {"$regx": "x"}}}, "patch: unknown operator $regx; did you mean $regex?"),
    ],
    ids=["set", "inc", "no-suggestion", "push-modifier", "push-field-beside-each", "pull"],
)
def test_check_update_refuses_an_unknown_operator_with_a_suggestion(update, message):
    with refused(ParamError, message):
        check_update(update)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"$set": {}}, "patch: $set takes a non-empty object of fields"),
        ({"$inc": 1}, "patch: $inc takes a non-empty object of fields"),
        ({"$rename": {"a": 1}}, "patch: $rename of a takes the new field name as a string"),
        ({"$rename": {"a": "b.$"}}, "patch: field path 'b.$' cannot have a segment starting with '$'"),
        ({"$rename": {"a": "b..c"}}, "patch: 'b..c' is not a field path"),
        ({"$currentDate": {"at": 1}}, "patch: $currentDate of at takes true or {$type: 'date'}"),
        ({"$currentDate": {"at": {"$type": "string"}}}, "patch: $currentDate of at takes true or {$type: 'date'}"),
        ({"$set": {"a.$x": 1}}, "patch: field path 'a.$x' cannot have a segment starting with '$'"),
        ({"$set": {"": 1}}, "patch: '' is not a field path"),
        ({"$set": {"a.": 1}}, "patch: 'a.' is not a field path"),
        ({"$set": {"a": {"b.c": 1}}}, "patch: field name 'b.c' cannot contain '.'"),
        ({"$set": {"a": {"$x": 1}}}, "patch: field name '$x' cannot start with '$'"),
        ({"$set": {"a": [{"b": {"c.d": 1}}]}}, "patch: field name 'c.d' cannot contain '.'"),
        ({"$push": {"a": {"$each": [{"b.c": 1}]}}}, "patch: field name 'b.c' cannot contain '.'"),
        ({"$push": {"a": {"$slice": 2}}}, "patch: field name '$slice' cannot start with '$'"),
        ({"$set": {"a": {"": 1}}}, "patch: a field name cannot be empty"),
    ],
    ids=[
        "empty-fields",
        "fields-not-object",
        "rename-not-string",
        "rename-to-positional",
        "rename-to-empty-segment",
        "currentDate-number",
        "currentDate-type",
        "dollar-segment",
        "empty-path",
        "trailing-dot",
        "dotted-field-name",
        "dollar-field-name",
        "dotted-deep-in-array",
        "dotted-in-each",
        "modifier-without-each",
        "empty-field-name",
    ],
)
def test_check_update_refuses_malformed_updates(update, message):
    with refused(ParamError, message):
        check_update(update)


def test_check_update_names_the_place_it_was_given():
    with refused(ParamError, "update: $set takes a non-empty object of fields"):
        check_update({"$set": {}}, "update")


# is_operator_update ------------------------------------------------------------------


def test_is_operator_update_is_true_for_operators():
    assert is_operator_update({"$set": {"a": 1}, "$inc": {"n": 1}}) is True


def test_is_operator_update_is_false_for_a_replacement():
    assert is_operator_update({"a": 1, "b": {"$c": 1}}) is False


def test_is_operator_update_is_false_for_an_empty_patch():
    assert is_operator_update({}) is False


def test_is_operator_update_refuses_a_mix_naming_an_operator_and_a_field():
    message = (
        "patch mixes update operators ($set) and plain fields (name); "
        "use either operators or a whole replacement document"
    )
    with refused(ParamError, message):
        is_operator_update({"name": "x", "$set": {"a": 1}})


# Documents ------------------------------------------------------------------------------


def test_check_document_returns_a_valid_document():
    document = {"_id": "x", "name": "n", "items": [{"sku": "a", "qty": 1}], "meta": {"tags": ["t"]}}
    assert check_document(document) is document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("x", "document must be an object"),
        ([{"a": 1}], "document must be an object"),
        ({"a.b": 1}, "document: field name 'a.b' cannot contain '.'"),
        ({"$set": {"a": 1}}, "document: field name '$set' cannot start with '$'"),
        ({"a": {"b": {"c.d": 1}}}, "document: field name 'c.d' cannot contain '.'"),
        ({"a": [[{"$inc": 1}]]}, "document: field name '$inc' cannot start with '$'"),
    ],
    ids=["string", "array", "dotted", "operator", "dotted-nested", "dollar-in-nested-arrays"],
)
def test_check_document_refuses_operators_and_dotted_names(document, message):
    with refused(ParamError, message):
        check_document(document)


@pytest.mark.parametrize("operator", DENIED_OPERATORS)
def test_check_document_refuses_a_denied_name_by_name(operator):
    with refused(PermissionDenied, f"data[2]: {REFUSAL[operator]}"):
        check_document({"a": [{operator: 1}]}, "data[2]")


def test_check_document_accepts_max_depth_levels_and_refuses_one_more():
    assert check_document(nested(MAX_DEPTH)) == nested(MAX_DEPTH)
    with refused(ParamError, f"document is nested more than {MAX_DEPTH} levels deep"):
        check_document(nested(MAX_DEPTH + 1))


# Paths ---------------------------------------------------------------------------------------


def test_check_path_accepts_a_dotted_path():
    assert check_path("profile.address.city", "where") is None


def test_check_path_refuses_a_positional_segment_unless_asked():
    assert check_path("items.$.qty", "where", positional=True) is None
    with refused(ParamError, "where: field path 'items.$.qty' cannot have a segment starting with '$'"):
        check_path("items.$.qty", "where")


# Sort orders ----------------------------------------------------------------------------------


def test_check_sort_of_none_is_none():
    assert check_sort(None) is None


def test_check_sort_keeps_the_order_of_the_fields():
    assert check_sort({"createdAt": -1, "name": 1, "profile.age": -1}) == [
        ("createdAt", -1),
        ("name", 1),
        ("profile.age", -1),
    ]


@pytest.mark.parametrize("direction", [True, False, 0, 2, "asc", "1", None, [1]])
def test_check_sort_takes_only_1_or_minus_1(direction):
    with refused(ParamError, "sortBy: name must be 1 (ascending) or -1 (descending)"):
        check_sort({"name": direction})


@pytest.mark.parametrize("sort", ["createdAt", [("createdAt", -1)], 1])
def test_check_sort_refuses_anything_but_an_object(sort):
    with refused(ParamError, "sortBy must be an object like {createdAt: -1}"):
        check_sort(sort)


def test_check_sort_refuses_an_operator_as_a_field():
    with refused(ParamError, "sortBy: field path '$natural' cannot have a segment starting with '$'"):
        check_sort({"$natural": 1})


def test_check_sort_refuses_a_denied_operator_by_name():
    with refused(PermissionDenied, f"sortBy: $where {RUNS_JS}"):
        check_sort({"$where": 1})


# Options ------------------------------------------------------------------------------------------

ALLOWED = {"limit": (int,), "skip": (int,), "upsert": (bool,), "sort": (dict,), "key": (str,), "near": (int, float)}


def test_check_options_of_none_is_empty():
    assert check_options(None, ALLOWED) == {}


def test_check_options_returns_valid_options():
    options = {"limit": 5, "upsert": True, "sort": {"a": 1}, "key": "loc", "near": 1.5}
    assert check_options(options, ALLOWED) is options


def test_check_options_refuses_anything_but_an_object():
    with refused(ParamError, "option must be an object"):
        check_options(["limit"], ALLOWED)


def test_check_options_refuses_an_unknown_option_with_a_suggestion():
    with refused(ParamError, "option: unknown option 'limt'; did you mean 'limit'?"):
        check_options({"limt": 5}, ALLOWED)


def test_check_options_refuses_an_unknown_option_listing_the_allowed_ones():
    with refused(ParamError, "option: unknown option 'zzz'; allowed: key, limit, near, skip, sort, upsert"):
        check_options({"zzz": 1}, ALLOWED)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": "5"}, "option: 'limit' must be int"),
        ({"limit": True}, "option: 'limit' must be int"),
        ({"limit": 1.5}, "option: 'limit' must be int"),
        ({"upsert": 1}, "option: 'upsert' must be bool"),
        ({"sort": []}, "option: 'sort' must be object"),
        ({"key": 1}, "option: 'key' must be string"),
        ({"near": "1"}, "option: 'near' must be int or float"),
        ({"near": False}, "option: 'near' must be int or float"),
    ],
    ids=[
        "string-for-int",
        "bool-for-int",
        "float-for-int",
        "int-for-bool",
        "list-for-object",
        "int-for-str",
        "union",
        "bool-for-union",
    ],
)
def test_check_options_refuses_a_value_of_the_wrong_type(options, message):
    with refused(ParamError, message):
        check_options(options, ALLOWED)


def test_check_options_refuses_map_reduce_by_name():
    with refused(PermissionDenied, f"options: mapReduce {RUNS_JS}"):
        check_options({"mapReduce": "function () {}"}, ALLOWED, "options")


@pytest.mark.parametrize("name", sorted(DENIED))
def test_check_options_refuses_every_denied_name_as_permission_denied(name):
    with refused(PermissionDenied, f"option: {REFUSAL[name]}"):
        check_options({name: 1}, ALLOWED)


# Projections -----------------------------------------------------------------------------------------


def test_check_projection_of_none_is_none():
    assert check_projection(None) is None


def test_check_projection_turns_flags_into_ints():
    assert check_projection({"name": True, "secret": False, "a.b": 1, "_id": 0}) == {
        "name": 1,
        "secret": 0,
        "a.b": 1,
        "_id": 0,
    }


@pytest.mark.parametrize("flag", [2, -1, "1", None, {"$slice": 1}, {"$elemMatch": {"a": 1}}])
def test_check_projection_refuses_anything_but_include_or_exclude(flag):
    with refused(ParamError, "projection: items must be 1 (include) or 0 (exclude)"):
        check_projection({"items": flag})


def test_check_projection_refuses_anything_but_an_object():
    with refused(ParamError, "projection must be an object like {name: 1}"):
        check_projection(["name"])


def test_check_projection_refuses_a_positional_path():
    with refused(ParamError, "projection: field path 'items.$' cannot have a segment starting with '$'"):
        check_projection({"items.$": 1})


def test_check_projection_refuses_a_denied_operator_by_name():
    with refused(PermissionDenied, f"projection: $where {RUNS_JS}"):
        check_projection({"$where": 1})


def test_denied_names_and_the_reason_an_author_is_told():
    assert DENIED == {
        "$where": "runs JavaScript on the database server",
        "$function": "runs JavaScript on the database server",
        "$accumulator": "runs JavaScript on the database server",
        "mapReduce": "runs JavaScript on the database server",
        "$out": "writes to another collection",
        "$merge": "writes to another collection",
        "$lookup": "reads another collection",
        "$graphLookup": "reads another collection",
        "$unionWith": "reads another collection",
        "$jsonSchema": "is not available to scripts",
    }

"""The embedded store's fast paths agree with mongomock's own answers."""

from __future__ import annotations

import datetime as dt
import random

import mongomock
import pytest
from bson import ObjectId

from noderuntime.store import embedded


def collection_of(documents):
    collection = mongomock.MongoClient().db.rows
    collection.insert_many(documents)
    return collection


def random_value(rng: random.Random):
    return rng.choice(
        [
            None,
            rng.randint(-3, 3),
            rng.random() * 6 - 3,
            rng.choice(["a", "b", "B", ""]),
            rng.choice([True, False]),
            {"x": rng.randint(0, 2)},
            dt.datetime(2020, 1, rng.randint(1, 28)),
            ObjectId(),
        ]
    )


@pytest.mark.parametrize("seed", range(20))
def test_sorting_matches_mongomock_on_mixed_types(seed):
    rng = random.Random(seed)
    documents = []
    for i in range(60):
        document = {"_id": i, "b": rng.randint(0, 3)}
        if rng.random() > 0.1:  # a missing field sorts as null
            document["a"] = random_value(rng)
        documents.append(document)
    collection = collection_of(documents)
    for sort in ([("a", 1)], [("a", -1)], [("b", 1), ("a", -1)], [("b", -1), ("a", 1)]):
        expected = [d["_id"] for d in collection.find({}).sort(sort)]
        assert [d["_id"] for d in embedded.ordered(documents, sort)] == expected, sort


def test_arrays_sort_by_their_smallest_element_ascending_and_largest_descending():
    # MongoDB's rule (mongomock compares arrays by their first element instead);
    # an empty array sorts before null.
    documents = [{"_id": 0, "a": [5, 1]}, {"_id": 1, "a": 2}, {"_id": 2, "a": [3, 9]}, {"_id": 3, "a": []}]
    assert [d["_id"] for d in embedded.ordered(documents, [("a", 1)])] == [3, 0, 1, 2]
    assert [d["_id"] for d in embedded.ordered(documents, [("a", -1)])] == [2, 0, 1, 3]


def test_first_with_one_key_is_the_head_of_the_sorted_list():
    documents = [{"_id": i, "p": p} for i, p in enumerate([3, 1, 2, 1, None, "x"])]
    assert embedded.first(documents, [("p", 1)])["_id"] == 4  # null sorts before numbers
    assert embedded.first(documents, [("p", -1)])["_id"] == 5  # strings after numbers
    assert embedded.first(documents, [("p", 1), ("_id", -1)]) == embedded.ordered(documents, [("p", 1), ("_id", -1)])[0]
    assert embedded.first(documents, None)["_id"] == 0


def test_matching_by_named_ids_reads_only_those_documents_and_still_filters():
    oid = ObjectId()
    collection = collection_of([{"_id": "m1", "app": "a"}, {"_id": oid, "app": "a"}, {"_id": "m3", "app": "b"}])
    assert embedded._ids_named({"_id": "m1"}) == ["m1"]
    assert embedded._ids_named({"$and": [{"app": "a"}, {"_id": {"$in": [oid, str(oid)]}}]}) == [oid, str(oid)]
    assert embedded._ids_named({"_id": {"$gt": "m"}}) is None
    assert embedded._ids_named({"app": "a"}) is None
    assert [
        d["_id"] for d in embedded.matching(collection, {"$and": [{"app": "a"}, {"_id": {"$in": [oid, "m3"]}}]})
    ] == [oid]
    assert [d["_id"] for d in embedded.matching(collection, {"_id": "m3", "app": "a"})] == []
    assert [d["_id"] for d in embedded.matching(collection, {"app": "a"})] == ["m1", oid]


def test_an_unhashable_id_falls_back_to_a_scan():
    collection = collection_of([{"_id": {"k": 1}, "v": 1}, {"_id": "x", "v": 2}])
    assert embedded._ids_named({"_id": {"$in": [{"k": 1}]}}) is None
    assert [d["v"] for d in embedded.matching(collection, {"_id": {"$in": [{"k": 1}]}})] == [1]

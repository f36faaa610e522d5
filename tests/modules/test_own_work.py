"""The library does not answer the question that asks you to build it: assert_own_work, at any depth."""

import pytest
from coursekit.questions import Mismatch
from cache_course.lab import assert_own_work
from cachesim.shared_store import SharedStoreModel
import swrcache

def test_wrapping_a_shipped_class_two_levels_deep_is_caught():
    class Store:
        def __init__(self):
            self.inner = SharedStoreModel()
    with pytest.raises(Mismatch, match="wraps cachesim.shared_store.SharedStoreModel"):
        assert_own_work(Store, "VersionedStore", shipped={"cachesim.shared_store.SharedStoreModel": SharedStoreModel}, make=Store)

def test_subclassing_a_top_level_export_is_caught_by_its_defining_module():
    class Mine(swrcache.LRUCache):
        pass
    with pytest.raises(Mismatch):
        assert_own_work(Mine, "SessionCache", shipped={"swrcache.LRUCache": swrcache.LRUCache})

def test_own_work_passes():
    class Store:
        def __init__(self):
            self.data = {}
    assert_own_work(Store, "VersionedStore", shipped={"cachesim.shared_store.SharedStoreModel": SharedStoreModel}, make=Store)

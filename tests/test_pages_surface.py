"""The foundation pages as a person reads them: the home tree in reading
order, empty states that say what to do next, Chinese by default."""
from __future__ import annotations

import re
from types import SimpleNamespace

from kaohe.shell.views import _depth_first


def test_depth_first_keeps_children_under_their_parent():
    n = lambda i, p: SimpleNamespace(id=i, parent_id=p)  # noqa: E731
    top = n(1, None)
    # as the database returns them: by depth, then sibling order
    nodes = [top, n(2, 1), n(3, 1), n(4, 2), n(5, 2), n(6, 3)]
    assert [x.id for x in _depth_first(top, nodes)] == [1, 2, 4, 5, 3, 6]


def test_county_home_lists_each_township_with_its_departments(world, login, backend):
    html = login("countysup").get("/").get_data(as_text=True)
    tree = re.search(r'data-testid="tree">(.*?)</ul>', html, re.S).group(1)
    names = re.findall(r">([^<>]+)</a>", tree)
    assert names == ["K1", "T1", "T1-D1", "T1-D2", "T2", "T2-D1"], names


def test_home_and_empty_states_in_chinese(world, login, backend):
    b = login("t1admin")
    html = b.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "我的角色" in html
    html = b.get("/users?q=nobody-has-this-name").get_data(as_text=True)
    assert "没有与“nobody-has-this-name”匹配的账号。" in html  # says what happened
    assert "请检查拼写" in html  # and what to do next

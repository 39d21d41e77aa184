"""Work a commit defers until its reply is sent: freeing the replaced running tree."""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path

import pytest

from agent.datastore import DatastoreName, Datastores
from agent.hooks import Hooks
from agent.schema import Schema

PKI_NS = "urn:pki-agent:yang:pki-agent"
SERVER = (f'<pki xmlns="{PKI_NS}"><enroll-server><id>1</id><label>ca</label>'
          "<url>http://127.0.0.1:8080/scep</url>"
          f"<fingerprint>{'ab' * 32}</fingerprint></enroll-server>{{}}</pki>")
ENROLL = ("<cert><enroll><name>dev</name><server>ca</server>{}"
          "<dn>CN=dev.example, C=DE</dn></enroll></cert>")


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.load()


def commit_config(datastores: Datastores, schema: Schema, config: str) -> None:
    datastores.copy(schema.parse_xml(config), DatastoreName.CANDIDATE, session_id=1)
    datastores.commit(1)


def test_replaced_tree_freed_after_reply(tmp_path: Path, schema: Schema) -> None:
    async def run() -> tuple[bool, bool]:
        datastores = Datastores(schema, tmp_path, Hooks())
        commit_config(datastores, schema, SERVER.format(""))
        old = weakref.ref(datastores.tree(DatastoreName.RUNNING))
        commit_config(datastores, schema, SERVER.format(ENROLL.format("")))
        alive_before_loop_runs = old() is not None
        await asyncio.sleep(0)
        return alive_before_loop_runs, old() is not None

    alive_before, alive_after = asyncio.run(run())

    assert alive_before
    assert not alive_after


def test_tree_freed_without_loop(tmp_path: Path, schema: Schema) -> None:
    datastores = Datastores(schema, tmp_path, Hooks())
    commit_config(datastores, schema, SERVER.format(""))
    old = weakref.ref(datastores.tree(DatastoreName.RUNNING))
    commit_config(datastores, schema, SERVER.format(ENROLL.format("")))

    assert old() is None


def test_warnings_logged_once_per_change(tmp_path: Path, schema: Schema,
                                         caplog: pytest.LogCaptureFixture) -> None:
    datastores = Datastores(schema, tmp_path, Hooks())
    commit_config(datastores, schema, SERVER.format(ENROLL.format("")))
    first = [record.getMessage() for record in caplog.records
             if record.levelno == logging.WARNING]
    caplog.clear()
    commit_config(datastores, schema, SERVER.format(ENROLL.format("")))
    repeated = [record.getMessage() for record in caplog.records
                if record.levelno == logging.WARNING]
    caplog.clear()
    commit_config(datastores, schema, SERVER.format(ENROLL.format("<password>pw</password>")))
    changed = [record.getMessage() for record in caplog.records
               if record.levelno == logging.WARNING]

    assert first == ["enrollment dev: challenge password missing; "
                     "SubjectAlternativeName missing"]
    assert repeated == []
    assert changed == ["enrollment dev: SubjectAlternativeName missing"]

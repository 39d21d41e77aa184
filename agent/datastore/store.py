"""The running, candidate and startup datastores, with locks, commit and persistence."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from agent.datastore.confirmed import DEFAULT_CONFIRM_TIMEOUT, PendingCommit
from agent.datastore.edit import (
    EditOperation,
    apply_edit,
    apply_removals,
    check_edit_content,
    normalize_fingerprints,
)
from agent.datastore.errors import (
    DatastoreError,
    EditFailedError,
    InUseError,
    InvalidConfigError,
    InvalidValueError,
    LabelChangedError,
    LockDeniedError,
    NotSupportedError,
    OperationFailedError,
)
from agent.datastore.persist import remove_file, write_atomic
from agent.datastore.warnings import enrollment_warnings
from agent.hooks import Hooks, JSONData
from agent.schema import DataTree, Schema, WithDefaults, release_soon

logger = logging.getLogger(__name__)

_LABELS = "/pki-agent:pki/enroll-server/label"


class DatastoreName(StrEnum):
    """The conventional configuration datastores (RFC 6241 §5.1)."""

    RUNNING = "running"
    CANDIDATE = "candidate"
    STARTUP = "startup"


class ErrorOption(StrEnum):
    """edit-config error-option values."""

    STOP_ON_ERROR = "stop-on-error"
    CONTINUE_ON_ERROR = "continue-on-error"
    ROLLBACK_ON_ERROR = "rollback-on-error"


class TestOption(StrEnum):
    """edit-config test-option values (:validate:1.1)."""

    TEST_THEN_SET = "test-then-set"
    SET = "set"
    TEST_ONLY = "test-only"


@dataclass(frozen=True, slots=True)
class LockInfo:
    """A global lock on one datastore."""

    session_id: int
    locked_time: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Datastores:
    """The three datastores of the agent, with running persisted in `state_dir/datastore`.

    The candidate is None while it has no uncommitted changes, so that it
    always reads as a copy of running without copying the tree on each commit.
    """

    def __init__(self, schema: Schema, state_dir: Path, hooks: Hooks,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.schema = schema
        self.hooks = hooks
        self.clock = clock
        self._dir = state_dir / "datastore"
        self._running = self._load(self._dir / "running.xml")
        self._restore_unconfirmed()
        self._startup = self._load(self._dir / "startup.xml")
        self._candidate: DataTree | None = None
        self._running_json: JSONData = json.loads(self._running.print_json(WithDefaults.REPORT_ALL))
        self._running_warnings = enrollment_warnings(self._running_json)
        self._locks: dict[DatastoreName, LockInfo] = {}
        self._pending: PendingCommit | None = None
        self._version = 0
        self._notify({}, self._running_json)

    # Reading

    @property
    def version(self) -> int:
        """A counter that changes whenever the content of any datastore may have changed.

        Every operation that writes a datastore increments it before it
        changes anything, even if it then fails, because a failed commit may leave
        defaults added to the candidate. Readers that cache output derived
        from a tree compare it to decide whether the cache is still valid.
        """
        return self._version

    @property
    def running_json(self) -> JSONData:
        """Running in RFC 7951 JSON with defaults and passwords, as commit subscribers get it."""
        return self._running_json

    def tree(self, name: DatastoreName) -> DataTree:
        """Return the live tree of a datastore, which callers must copy before changing it."""
        if name is DatastoreName.CANDIDATE:
            return self._candidate if self._candidate is not None else self._running
        if name is DatastoreName.STARTUP:
            return self._startup
        return self._running

    def locks(self) -> dict[DatastoreName, LockInfo]:
        return dict(self._locks)

    def candidate_modified(self) -> bool:
        return self._candidate is not None

    # Locks (RFC 6241 §7.5, §7.6)

    def lock(self, name: DatastoreName, session_id: int) -> None:
        held = self._locks.get(name)
        if held is not None:
            raise LockDeniedError(name, held.session_id)
        if name is DatastoreName.CANDIDATE and self._candidate is not None:
            # RFC 6241 §8.3.5.1: no lock while the candidate holds changes.
            raise LockDeniedError(name, 0, "the candidate datastore has uncommitted changes. "
                                           "Commit or discard-changes first")
        self._locks[name] = LockInfo(session_id, self.clock())
        logger.info("session %d locked the %s datastore", session_id, name)

    def unlock(self, name: DatastoreName, session_id: int) -> None:
        held = self._locks.get(name)
        if held is None:
            raise OperationFailedError(f"the {name} datastore is not locked")
        if held.session_id != session_id:
            raise OperationFailedError(f"the {name} datastore is locked by session "
                                       f"{held.session_id}, not by this session")
        del self._locks[name]
        logger.info("session %d unlocked the %s datastore", session_id, name)
        self._discard_after_lock(name, session_id)

    def _discard_after_lock(self, name: DatastoreName, session_id: int) -> None:
        """Drop the candidate changes made under a lock that was just released.

        RFC 6241 §8.3.5.2: releasing the candidate lock, by unlock or by the
        end of the holder's session, discards its uncommitted changes. A
        lock is granted only on an unmodified candidate, so every change
        it holds now was made by the lock holder.
        """
        if name is not DatastoreName.CANDIDATE or self._candidate is None:
            return
        self._version += 1
        self._candidate = None
        logger.info("discarded the uncommitted candidate changes of session %d", session_id)

    def _check_writable(self, name: DatastoreName, session_id: int) -> None:
        held = self._locks.get(name)
        if held is not None and held.session_id != session_id:
            raise InUseError(name, held.session_id)

    def end_session(self, session_id: int) -> None:
        """Release the session's locks and roll back its unconfirmed non-persist commit.

        Releasing a candidate lock also discards the candidate changes made under it.
        """
        for name, held in list(self._locks.items()):
            if held.session_id == session_id:
                del self._locks[name]
                logger.info("released the %s lock of ended session %d", name, session_id)
                self._discard_after_lock(name, session_id)
        pending = self._pending
        if pending is not None and pending.session_id == session_id and pending.persist is None:
            logger.info("session %d ended before confirming its commit; rolling back", session_id)
            self._rollback_pending()

    # edit-config, copy-config, delete-config

    def edit(self, name: DatastoreName, edit: DataTree, session_id: int, *,
             default_operation: EditOperation = EditOperation.MERGE,
             test_option: TestOption = TestOption.TEST_THEN_SET,
             error_option: ErrorOption = ErrorOption.STOP_ON_ERROR,
             removals: list[tuple[str, EditOperation]] | None = None) -> None:
        """Apply edit-config content to the candidate or to running.

        `removals` lists leaves given without a value for delete or remove,
        as (data path, operation).
        """
        if name is DatastoreName.STARTUP:
            raise NotSupportedError("edit-config on startup is not supported. "
                                    "Use copy-config from running")
        self._check_writable(name, session_id)
        problems = check_edit_content(edit)
        if problems:
            raise EditFailedError(tuple(problems))
        self._version += 1
        work = self.tree(name).copy()
        normalize_fingerprints(edit)
        stop = error_option is not ErrorOption.CONTINUE_ON_ERROR
        errors = apply_edit(work, edit, default_operation, stop_on_error=stop)
        if not (errors and stop):
            errors.extend(apply_removals(work, removals or [], stop_on_error=stop))
        normalize_fingerprints(work)
        if errors and error_option is ErrorOption.ROLLBACK_ON_ERROR:
            raise EditFailedError(tuple(errors))
        # NOTE: edits of the candidate are not validated, so a configuration
        # can be built up in several edits, and commit and validate check it.
        # Edits of running are always validated, test-option set included.
        if test_option is TestOption.TEST_ONLY:
            self._validate(work)
        elif name is DatastoreName.RUNNING:
            self._install_running(work, f"edit-config by session {session_id}")
        else:
            self._candidate = work
        if errors:
            raise EditFailedError(tuple(errors))

    def copy(self, source: DataTree, target: DatastoreName, session_id: int) -> None:
        """copy-config: replace a whole datastore with a copy of `source`."""
        self._check_writable(target, session_id)
        self._version += 1
        work = source.copy()
        normalize_fingerprints(work)
        if target is DatastoreName.CANDIDATE:
            # The candidate is not validated until commit, so the checks of
            # edit-config content apply here.
            problems = check_edit_content(work)
            if problems:
                raise EditFailedError(tuple(problems))
            self._candidate = work
            return
        self._validate(work)
        if target is DatastoreName.RUNNING:
            self._install_running(work, f"copy-config by session {session_id}")
            return
        write_atomic(self._dir / "startup.xml", work.print_xml().encode())
        self._startup = work
        logger.info("session %d copied a configuration to startup", session_id)

    def delete(self, target: DatastoreName, session_id: int) -> None:
        """delete-config: RFC 6241 §7.4 allows only startup (or a URL) as the target."""
        if target is DatastoreName.RUNNING:
            raise NotSupportedError("the running datastore cannot be deleted (RFC 6241 §7.4)")
        if target is DatastoreName.CANDIDATE:
            raise NotSupportedError("the candidate datastore cannot be deleted (RFC 6241 §7.4). "
                                    "Use discard-changes to reset it to running")
        self._check_writable(target, session_id)
        self._version += 1
        remove_file(self._dir / "startup.xml")
        self._startup = DataTree(self.schema.context, None)
        logger.info("session %d deleted the startup datastore", session_id)

    # validate, commit, discard-changes, cancel-commit

    def validate(self, source: DataTree) -> None:
        work = source.copy()
        self._check_labels(work)
        self._validate(work)

    def commit(self, session_id: int, *, confirmed: bool = False,
               timeout: int = DEFAULT_CONFIRM_TIMEOUT, persist: str | None = None,
               persist_id: str | None = None) -> None:
        """Copy the candidate to running, or confirm a pending confirmed commit."""
        self._check_writable(DatastoreName.RUNNING, session_id)
        self._check_writable(DatastoreName.CANDIDATE, session_id)
        before = self._running
        pending = self._pending
        if pending is not None:
            pending.check_caller(session_id, persist_id)
        elif persist_id is not None:
            raise InvalidValueError("persist-id given, but no confirmed commit is pending")
        self._version += 1
        if self._candidate is not None:
            # No copy: a failed install leaves the candidate with its data,
            # only with the defaults that validation added.
            self._install_running(self._candidate, f"commit by session {session_id}")
            self._candidate = None
        if not confirmed:
            if pending is not None:
                pending.cancel_timer()
                self._pending = None
                remove_file(self._rollback_path)
                logger.info("session %d confirmed the pending commit", session_id)
            return
        if pending is None:
            pending = PendingCommit(session_id, persist, rollback=before)
            self._pending = pending
            write_atomic(self._rollback_path, before.print_xml().encode())
        else:
            pending.persist = persist
            pending.session_id = session_id
        pending.cancel_timer()
        pending.timer = asyncio.get_running_loop().call_later(timeout, self._on_timeout, pending)
        logger.info("session %d made a confirmed commit; it rolls back in %d s unless confirmed",
                    session_id, timeout)

    def cancel_commit(self, session_id: int, persist_id: str | None) -> None:
        pending = self._pending
        if pending is None:
            raise OperationFailedError("no confirmed commit is pending")
        pending.check_caller(session_id, persist_id)
        logger.info("session %d cancelled the confirmed commit", session_id)
        self._rollback_pending()

    def discard_changes(self, session_id: int) -> None:
        self._check_writable(DatastoreName.CANDIDATE, session_id)
        self._version += 1
        self._candidate = None

    def _on_timeout(self, pending: PendingCommit) -> None:
        if self._pending is pending:
            logger.warning("confirmed commit of session %d timed out; rolling back",
                           pending.session_id)
            self._rollback_pending()

    def _rollback_pending(self) -> None:
        pending = self._pending
        assert pending is not None
        pending.cancel_timer()
        self._pending = None
        self._candidate = None
        self._install_running(pending.rollback, "confirmed commit rollback", check_labels=False)
        remove_file(self._rollback_path)

    @property
    def _rollback_path(self) -> Path:
        return self._dir / "rollback.xml"

    def _restore_unconfirmed(self) -> None:
        """Roll back a confirmed commit that was still unconfirmed when the agent stopped.

        RFC 6241 §8.4.1 rolls back an unconfirmed commit when its session
        ends, and a stop of the agent ends every session.
        """
        if not self._rollback_path.exists():
            return
        logger.warning("restoring the configuration from before an unconfirmed commit (%s)",
                       self._rollback_path)
        self._running = self._load(self._rollback_path)
        write_atomic(self._dir / "running.xml", self._running.print_xml().encode())
        remove_file(self._rollback_path)

    # Installing a new running configuration

    def _check_labels(self, new: DataTree) -> None:
        """Reject a change of a committed server label, the one rule libyang cannot express."""
        old = dict(self._running.leaf_values(_LABELS))
        for path, label in new.leaf_values(_LABELS):
            before = old.get(path)
            if before is not None and before != label:
                raise LabelChangedError(
                    f"the label of the enroll-server at {path} cannot change once committed "
                    f"(it is {before!r}); delete the server and create it again", path)

    def _validate(self, tree: DataTree) -> None:
        issues = self.schema.validate(tree)
        if issues:
            raise InvalidConfigError(issues)

    def _install_running(self, new: DataTree, reason: str, *, check_labels: bool = True) -> None:
        # The label rule is checked first because a renamed server also
        # breaks the leafrefs to it, and only the label error explains the fix.
        if check_labels:
            self._check_labels(new)
        self._version += 1
        self._validate(new)
        new_json = json.loads(new.print_json(WithDefaults.REPORT_ALL))
        write_atomic(self._dir / "running.xml", new.print_xml().encode())
        old_json = self._running_json
        release_soon(self._running)
        self._running = new
        self._running_json = new_json
        logger.info("running configuration changed: %s", reason)
        self._log_new_warnings(enrollment_warnings(new_json))
        self._notify(old_json, new_json)

    def _log_new_warnings(self, warnings_by_name: dict[str, list[str]]) -> None:
        # Only changed warnings are logged, so a commit of one entry among
        # thousands logs one line and not one per enrollment.
        before = self._running_warnings
        self._running_warnings = warnings_by_name
        for name, warnings in warnings_by_name.items():
            if before.get(name) != warnings:
                logger.warning("enrollment %s: %s", name, "; ".join(warnings))

    def _notify(self, old: JSONData, new: JSONData) -> None:
        for subscriber in list(self.hooks.commit_subscribers):
            try:
                subscriber(old, new)
            except Exception:
                logger.exception("commit subscriber %r failed", subscriber)

    def _load(self, path: Path) -> DataTree:
        if not path.exists():
            return DataTree(self.schema.context, None)
        tree = self.schema.parse_xml(path.read_text(encoding="utf-8"))
        issues = self.schema.validate(tree)
        if issues:
            raise DatastoreError(f"{path} is not valid: {issues[0].message}", issues[0].path)
        logger.info("loaded %s", path)
        return tree

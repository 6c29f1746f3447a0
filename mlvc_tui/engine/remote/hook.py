"""The server's rules, as a `pre-receive` hook that calls mlvc (``mlvc server install-hook``).

Whatever the client, a push is refused (all of it: the hook sees every ref at once) when:
- a version tag (``<model>@v<X.Y.Z>``) moves or is deleted, names a commit off prod's
  first-parent history, or names a commit whose promotion record gives another tag;
- prod is deleted, or moves other than by fast-forward;
- a new commit on prod's first-parent line is not a promotion or rollback with a valid
  record (its target commit is its first parent; a promotion's gates and version re-checked
  here against prod as it was), nor a change to nothing but the delivery file;
- the approvals notes lose a line, or gain one in the name of someone other than the
  authenticated pusher (``REMOTE_USER``, set by http-backend's basic auth or the ssh key).
Each refusal is printed as ``mlvc: <reason>`` (the client shows it on one line).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.delivery.spec import DELIVERY_PATH
from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.git.notes import notes_lines
from mlvc_tui.engine.git.remotes import open_pushed
from mlvc_tui.engine.git.transport import ZERO, is_ancestor, peel
from mlvc_tui.engine.promotion.promote import plan_promotion
from mlvc_tui.engine.promotion.records import parse_record
from mlvc_tui.engine.remote.sync import HEADS, NOTES, TAGS, is_version_tag

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry
    from mlvc_tui.engine.values import CommitInfo

RACE = "race:"  # refusals the client answers by fetching and planning again

__all__ = ["check_push", "install_hook", "run_pre_receive"]

HOOK = """#!/bin/sh
# mlvc: the registry's rules, checked on every push (mlvc server install-hook)
exec {python} -c 'import sys; from mlvc_tui.cli import main; sys.exit(main())' \\
    server pre-receive "${{GIT_DIR:-.}}"
"""


def install_hook(bare_repo: str) -> str:
    """Write the pre-receive hook into a bare repository; the hook's path."""
    root = Path(bare_repo)
    if not (root / "objects").is_dir() or not (root / "refs").is_dir():
        from mlvc_tui.engine.errors import BadInput

        raise BadInput(f"{root} is not a bare git repository")
    hook = root / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(HOOK.format(python=sys.executable))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(hook.resolve())


def _same_person(user: str, pusher: str) -> bool:
    """An approval's user names the pusher: the login, its name, or its email's local part."""
    name, _, email = user.partition(" <")
    local = email.rstrip(">").split("@", 1)[0]
    return pusher in (user, name.strip(), local)


def _notes_problems(repo: Any, old: str, new: str, pusher: str | None) -> list[str]:
    if new == ZERO:
        return ["the approvals can not be deleted"]
    if old != ZERO and not is_ancestor(repo, old, new):
        return ["the approvals can only grow (a fast-forward of refs/notes/mlvc-approvals)"]
    before = notes_lines(repo, old) if old != ZERO else {}
    after = notes_lines(repo, new)
    out = []
    for commit, data in after.items():
        had = set(before.get(commit, b"").splitlines())
        for line in data.splitlines():
            if line in had:
                continue
            try:
                doc = json.loads(line)
                user = str(doc.get("by") or doc["user"])  # whose approval it is
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue  # not an approval
            if pusher is None:
                out.append(f"approval of {commit[:8]} by {user}: the push is not authenticated")
            elif not _same_person(user, pusher):
                out.append(
                    f"approval of {commit[:8]} in the name of {user}, pushed by {pusher}: "
                    "approve as yourself"
                )
    for commit, data in before.items():
        if not set(data.splitlines()) <= set(after.get(commit, b"").splitlines()):
            out.append(f"an approval of {commit[:8]} was removed: approvals are never removed")
    return out


def _prod_problems(reg: Registry, prod: str, old: str, new: str, notes: str | None) -> list[str]:
    if new == ZERO:
        return [f"{prod} can not be deleted"]
    if old == ZERO:
        return []  # the first push of the registry
    repo = reg.repo
    if not is_ancestor(repo, old, new):
        return [f"{prod} moves only by fast-forward (a force-push was refused)"]
    chain = []
    sha = new
    while sha != old:
        info = reg.objects.commit(sha)[0]
        if not info.parents:
            return [f"{prod}: {sha[:8]} is not on top of the server's {prod}"]
        chain.append(info)
        sha = info.parents[0]
    for info in reversed(chain):
        problem = _commit_problem(reg, prod, info, notes)
        if problem:
            return [problem]
    return []


def _commit_problem(reg: Registry, prod: str, info: CommitInfo, notes: str | None) -> str | None:
    parent = info.parents[0]
    record = parse_record(info.message)
    short = info.id[:8]
    if record is None:
        if len(info.parents) == 1:
            before = reg.objects.files(reg.objects.commit(parent)[1])
            after = reg.objects.files(reg.objects.commit(info.id)[1])
            changed = {
                p
                for p in before.keys() | after.keys()
                if (before.get(p) and before[p].sha) != (after.get(p) and after[p].sha)
            }
            if changed <= {DELIVERY_PATH}:
                return None
        return (
            f"{short} on {prod} is neither a promotion, a rollback nor a delivery change: "
            f"promote with mlvc"
        )
    if record.target != prod or record.target_commit != parent:
        return f"{short}: its record does not match its place on {prod}"
    if record.kind == "rollback":
        return None if len(info.parents) == 1 else f"{short}: a rollback has one parent"
    if len(info.parents) != 2 or info.parents[1] != record.source_commit:
        return f"{short}: its record names another candidate than the commit it merges"
    try:
        with reg.pinned({HEADS + prod: parent}, notes):
            plan = plan_promotion(reg, record.source_commit, prod)
    except MlvcError as exc:
        return f"{short}: the promotion does not re-check on the server: {exc}"
    plan = replace(plan, gates=tuple(g for g in plan.gates if g.name != "worktree"))
    if not plan.ok:
        first = plan.failed[0]
        return f"{short}: gate {first.name} fails on the server: {first.reason}"
    if plan.tag != record.tag:
        chain = {c.id for c in reg.objects.first_parent_chain(parent, 100_000)}
        model = (plan.tag or "").rsplit("@", 1)[0] + "@"
        if any(n.startswith(model) and c not in chain for n, c in reg.tags().items()):
            # another push's tag is landing right now (its prod move comes next): a race
            return f"{RACE} {prod} is being moved by another push: fetch and plan again"
        return f"{short}: the record says {record.tag}, the server computes {plan.tag}"
    return None


def check_push(reg: Registry, updates: list[tuple[str, str, str]], pusher: str | None) -> list[str]:
    """Every reason to refuse a push of ``(old, new, ref)`` updates (empty: accept)."""
    prod = reg.prod or "prod"
    by_ref = {ref: (old, new) for old, new, ref in updates}
    current_prod = reg.branch_tip(prod)
    new_prod = by_ref.get(HEADS + prod, (None, current_prod))[1]
    notes = by_ref.get(NOTES, (None, None))[1]
    notes = notes if notes and notes != ZERO else None
    problems: list[str] = []
    old_prod = by_ref.get(HEADS + prod, (None, None))[0]
    if old_prod is not None and old_prod != (current_prod or ZERO):
        return [f"{RACE} {prod} moved meanwhile: fetch and plan again"]
    for ref, (old, _) in by_ref.items():
        if ref.startswith(TAGS) and old == ZERO and ref in reg.disk_refs():
            return [f"{RACE} tag {ref.removeprefix(TAGS)} exists already: fetch and plan again"]
    if NOTES in by_ref:
        problems += _notes_problems(reg.repo, *by_ref[NOTES], pusher)
    if HEADS + prod in by_ref:
        problems += _prod_problems(reg, prod, *by_ref[HEADS + prod], notes)
    chain: set[str] | None = None
    for ref, (old, new) in by_ref.items():
        name = ref.removeprefix(TAGS)
        if not ref.startswith(TAGS) or not is_version_tag(name):
            continue
        if old != ZERO:
            problems.append(f"version tag {name} can not be moved or deleted")
            continue
        commit = peel(reg.repo, new)
        if chain is None:
            chain = (
                {c.id for c in reg.objects.first_parent_chain(new_prod, 100_000)}
                if new_prod and new_prod != ZERO
                else set()
            )
        if commit not in chain:
            problems.append(f"version tag {name} names a commit off {prod}'s history")
            continue
        record = parse_record(reg.objects.commit(commit)[0].message)
        if record is None or record.tag != name:
            said = record.tag if record else "no version"
            problems.append(f"version tag {name} names a commit whose record says {said}")
    return problems


def run_pre_receive(path: str, stdin: str) -> int:
    """The hook's body: read git's ``old new ref`` lines, print refusals, 0 to accept."""
    from mlvc_tui.engine.registry import Registry

    updates = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    pusher = os.environ.get("REMOTE_USER") or None
    repo = open_pushed(path)
    try:
        reg = Registry(repo)
        problems = check_push(reg, updates, pusher)
    except MlvcError as exc:
        problems = [str(exc)]
    finally:
        repo.close()
    for problem in problems:
        sys.stderr.write(f"mlvc: {problem}\n")
    return 1 if problems else 0

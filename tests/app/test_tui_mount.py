"""The branch detail's `m` key: the command that mounts the branch, shown and copied."""

from __future__ import annotations

from mlvc_tui.app import make_app
from mlvc_tui.screens.branch import mount_command
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, settle


def test_mount_command_is_quoted_for_the_shell() -> None:
    assert mount_command("/srv/reg", "exp/a") == "mlvc -C /srv/reg mount exp/a ~/mnt/exp-a"
    assert (
        mount_command("/srv/my reg", "exp/ü;rm")
        == "mlvc -C '/srv/my reg' mount 'exp/ü;rm' ~/mnt/exp-rm"
    )


async def test_m_shows_and_copies_the_mount_command(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_branch("exp/a")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        want = mount_command(str(small_repo.path.resolve()), "exp/a")
        assert copied == [want]
        assert [n.message for n in app._notifications] == [want]

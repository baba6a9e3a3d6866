"""The operators' chat command router (starter/chat_commands.py): parsing, the chat and allowlist
checks, and a refusal's reply; the `/ack` handler itself runs end to end in tests/test_acks_stack.py."""

from __future__ import annotations

from core.settings import Settings
from starter.chat_commands import ChatCommand, ChatCommands, CommandRefused, parse_command

CHAT = "-1001234567890"


def _update(text: str, *, chat: int = int(CHAT), user: int = 7) -> dict:
    return {"update_id": 1, "message": {"message_id": 5, "from": {"id": user, "is_bot": False, "username": "alice"},
                                        "chat": {"id": chat, "type": "supergroup"}, "date": 1, "text": text}}


def test_a_command_is_parsed_with_its_bot_suffix_and_arguments() -> None:
    command = parse_command(_update("/ACK@awoooi_bot alertmanager-x-1  on it now"))
    assert command is not None and command.name == "ack" and command.args == ["alertmanager-x-1", "on", "it", "now"]
    assert command.rest == "alertmanager-x-1  on it now" and command.who == "@alice" and command.chat_id == CHAT
    assert parse_command(_update("just talking")) is None
    assert parse_command({"update_id": 2, "edited_message": {}}) is None


async def test_only_the_operators_chat_and_the_allowlist_reach_a_handler() -> None:
    seen: list[ChatCommand] = []

    async def echo(command: ChatCommand) -> str:
        seen.append(command)
        if not command.args:
            raise CommandRefused("usage: /echo WORD")
        return command.args[0]

    commands = ChatCommands(Settings(telegram_chat_id=CHAT, telegram_approver_ids=[7]), chat=None)
    commands.register("echo", echo)
    assert await commands.handle(parse_command(_update("/echo hi"))) == {"status": "accepted", "detail": "hi"}
    assert (await commands.handle(parse_command(_update("/echo hi", chat=-5))))["status"] == "ignored"
    assert (await commands.handle(parse_command(_update("/echo hi", user=8))))["status"] == "refused"
    assert (await commands.handle(parse_command(_update("/nope"))))["status"] == "ignored"
    assert await commands.handle(parse_command(_update("/echo"))) == {"status": "refused",
                                                                        "detail": "usage: /echo WORD"}
    assert len(seen) == 2, "refused before the handler: another chat, a stranger, an unknown command"

"""A user's extensions module as the README describes it: registers a bot and a keyword handler."""

from two_way_sms.conversations.router import HandlerResult, router


@router.handler("support_bot")
def support_bot(message):
    if "password" in message.text.lower():
        return HandlerResult(reply="You can reset your password at example.com/reset.", close=True)
    return None  # nothing to add: the agent desk has the message


@router.keyword("BALANCE")
def balance(message):
    return HandlerResult(reply="Your balance is $12.34.", events=(("reply.received", {"handledBy": "balance"}),))

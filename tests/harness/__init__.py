"""What tests share, so that no test module imports another: the example message, seeded cases, the
CLI in a subprocess, scripted model servers (see the submodules). Subprocess helpers for `supportbot
run` are in tests/support.py, the fake servers in tests/fakes/."""

# The three-request message of the README's example: a billing question, a return and an order status.
EXAMPLE = (
    "Hi, I'm writing to you because I have a question about invoice #INV-7890. It seems higher than I "
    "expected. Also, I would like to return the 'SuperWidget 5000' I bought because it's not compatible "
    "with my system. Finally, can you give me an update on my order #A-12345?"
)

# Hosts the FAQ tests' page fetcher may reach although they are loopback (the fake sites).
LOCAL = ["127.0.0.1"]

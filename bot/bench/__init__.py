"""The benchmark suite behind `supportbot bench`: one module per benchmark, each returning a result
dataclass with its parameters; `suite` runs them and `report` renders text or JSON.

Everything runs in one process against local stand-ins: a simulated model with a fixed latency
(`simulated`), temporary SQLite files, and tiny local Slack and Gemini HTTP fakes (`fakes`). Nothing
here touches the configured database or the network beyond 127.0.0.1.
"""

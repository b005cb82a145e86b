"""The staff web console: server-rendered pages (Jinja2, autoescaped) on aiohttp, mounted under
/console/ by `supportbot run` and served alone by `supportbot console serve`.

    app.py      the aiohttp application: routes, the session/CSRF middleware, the security headers
    auth.py     sign-in links, sessions, CSRF, the sign-in rate limit, the staff re-check
    routes.py   the pages and case actions (each page also answers ?format=csv)
    queries.py  what the pages read; insights.py the figures of the insights page; charts.py its charts
    actions.py  the case actions, through the case lifecycle chat and the CLI use
    render.py   the template environment, filters and CSV responses
"""

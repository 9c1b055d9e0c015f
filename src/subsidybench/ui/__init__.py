"""`subsidybench ui`: the cost answer in a browser, over the same one door as the CLI (cost.door).

app.py holds the routes, form.py the form and URLs made from the inputs table (cost.inputs),
view.py what an answer shows, uploads.py the uploaded run files, words.py the page's words.
Needs the `ui` extra (Starlette, Jinja2, uvicorn): `pip install -e '.[ui]'`.
"""

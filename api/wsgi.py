"""The WSGI entry point gunicorn serves: `gunicorn api.wsgi:app`."""

from api.app import create_app
from models.core.config import Settings

app = create_app(Settings.from_env())

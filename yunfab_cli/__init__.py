"""Entry points: the `yunfab` command and what it starts (the top layer; imports the apps)."""

from yunfab.migrations import run_env

run_env()

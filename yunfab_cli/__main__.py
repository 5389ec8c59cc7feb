from yunfab_cli.main import main

main()

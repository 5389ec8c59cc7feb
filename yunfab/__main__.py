from yunfab.cli import main

main()

from atomgenbench.cli import main

main()

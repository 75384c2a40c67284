from xtal.cli import main

main()

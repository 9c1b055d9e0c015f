from subsidybench.cli import main

main()

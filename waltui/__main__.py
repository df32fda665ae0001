from waltui.cli.launch import main

raise SystemExit(main())

from waltui.cli import main

raise SystemExit(main())

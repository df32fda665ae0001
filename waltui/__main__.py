from waltui.launch import main

raise SystemExit(main())

from imagerepo_tui.cli import main

raise SystemExit(main())

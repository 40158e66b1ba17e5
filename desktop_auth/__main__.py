from desktop_auth.cli import main

raise SystemExit(main())

from emocompress.cli import main

raise SystemExit(main())

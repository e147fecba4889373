from retention.live.shopify_graphql import main

raise SystemExit(main())

package main

import "errors"

// execute carries a plan out.
func execute(p Plan) (int, error) {
	return 0, errors.New("creating namespaces is not implemented yet; use --dry-run to see the plan")
}

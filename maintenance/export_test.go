package maintenance

import ice "github.com/ice-rest-catalog/ice"

// SetBeforeCommit lets a test run fn between an expiry's read and its commit.
func SetBeforeCommit(j *Jobs, fn func(ice.TableIdent)) { j.beforeCommit = fn }

// CloseSession ends the runner's etcd session, as a crashed leader's would end.
func CloseSession(r *Runner) error { return r.closeSession() }

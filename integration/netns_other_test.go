//go:build !linux

package integration

import (
	"errors"
	"syscall"
)

func namespaceAttr() *syscall.SysProcAttr { return nil }

func isolateNetwork(dir string) (func(), error) {
	return nil, errors.New("private network namespaces need Linux")
}

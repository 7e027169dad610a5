package main

import (
	"context"
	"errors"

	"github.com/drip-email/drip/configs"
)

func mailboxTest(ctx context.Context, g *globals, cfg *configs.Config, s *configs.Sender, sendTo string) error {
	return errors.New("not yet")
}

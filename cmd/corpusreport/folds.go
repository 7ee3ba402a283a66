package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeFolds writes, for each HAM SPAM pair (one per era, numbered from 1
// in argument order), the absolute paths of the messages of each fold, one
// a line: DIR/eraN/ham-K.txt and DIR/eraN/spam-K.txt for K in 0..4. Other
// filters (scripts/peer-bayes.sh) train and test on these lists, so their
// figures come from exactly the folds -bayes measures ours on.
func writeFolds(dir string, pairs []string) error {
	for i := 0; i < len(pairs); i += 2 {
		eraDir := filepath.Join(dir, fmt.Sprintf("era%d", i/2+1))
		if err := os.MkdirAll(eraDir, 0o755); err != nil {
			return fmt.Errorf("write folds: %w", err)
		}
		for j, class := range []string{"ham", "spam"} {
			files, err := messageFiles(pairs[i+j])
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("%s: no messages", pairs[i+j])
			}
			lists := make([][]string, folds)
			for n, f := range files {
				abs, err := filepath.Abs(f)
				if err != nil {
					return fmt.Errorf("write folds: %w", err)
				}
				lists[foldOf(n)] = append(lists[foldOf(n)], abs)
			}
			for k, l := range lists {
				name := filepath.Join(eraDir, fmt.Sprintf("%s-%d.txt", class, k))
				var text string
				if len(l) > 0 {
					text = strings.Join(l, "\n") + "\n"
				}
				if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
					return fmt.Errorf("write folds: %w", err)
				}
			}
		}
	}
	return nil
}

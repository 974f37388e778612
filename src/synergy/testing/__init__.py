"""Public fakes for tests of code built on SyNERGY: fake kernel trees and the writers that change them."""

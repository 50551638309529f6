import EWSFleetCLI

await EWSFleetCommand.main()
